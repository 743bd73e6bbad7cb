/**
 * The data set of the sync benchmarks, made by the real server: one account (`alice`) with N P2P
 * conversations, each created by one message from a different peer, so every document is exactly
 * what a server serves (last message, unread 1, sort order, rank). Seeding goes through the
 * server's own message ingest, in parallel; large seeds are cached as SQLite files in the temp
 * folder so a re-run does not pay for them again.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientEvent, Collection, ConversationType, type Checkpoint, type ConversationDoc, type PullAnswer } from '@convsync/protocol';
import { startServer, type ConvSyncServer } from '@convsync/server';
import type { Progress } from './progress.js';

export const ACCOUNT = 'alice';
/** Bump when the seed's shape changes, so stale caches are not reused. */
const SEED_VERSION = 1;
const CACHE_DIR = join(tmpdir(), 'convsync-bench');

export const peerOf = (i: number): string => `peer${String(i).padStart(6, '0')}`;
export const conversationOf = (i: number): string => `${ACCOUNT}|${ConversationType.P2P}|${peerOf(i)}`;

/** Sends `count` messages through `send` with `concurrency` in flight. */
export async function inParallel(count: number, concurrency: number, send: (i: number) => Promise<unknown>, onDone?: (done: number) => void): Promise<void> {
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      await send(i);
      done++;
      onDone?.(done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** Creates `count` conversations of `ACCOUNT` (peers `from`…`from+count-1`), one message each. */
export async function seedConversations(server: ConvSyncServer, options: { count: number; from?: number; progress?: Progress }): Promise<void> {
  const { count, from = 0, progress } = options;
  const step = Math.max(1, Math.floor(count / 20));
  if (progress !== undefined) progress.start(`seeding ${count.toLocaleString('en-US')} conversations`, 20);
  await inParallel(count, 32, (i) => server.sendMessage({
    from: peerOf(from + i),
    conversationType: ConversationType.P2P,
    targetId: ACCOUNT,
    text: `hello from ${peerOf(from + i)}: a message of a typical length for a chat preview`,
  }), (done) => {
    if (progress !== undefined && done % step === 0) progress.tick();
  });
}

/**
 * A server whose SQLite file already holds `count` conversations of `ACCOUNT`. The seed file is
 * cached across runs and must never change, so with `writable` (a benchmark that sends messages)
 * the server runs on a copy that is deleted when it closes.
 */
export async function seededServer(count: number, progress?: Progress, options: { writable?: boolean } = {}): Promise<ConvSyncServer> {
  return cachedServer(`seed-v${SEED_VERSION}-${count}`, (server) => seedConversations(server, { count, ...(progress === undefined ? {} : { progress }) }), options);
}

/**
 * A server on the SQLite file `key` in the temp folder, made once by `seed` on a fresh server and
 * reused by later runs (the key carries a version: change it when the seed changes).
 */
export async function cachedServer(key: string, seed: (server: ConvSyncServer) => Promise<void>, options: { writable?: boolean } = {}): Promise<ConvSyncServer> {
  const path = await cachedSeedFile(key, seed);
  if (options.writable !== true) return startServer({ database: path });
  const dir = mkdtempSync(join(tmpdir(), 'convsync-bench-copy-'));
  const copy = join(dir, 'seed.sqlite');
  for (const suffix of ['', '-wal']) {
    if (existsSync(`${path}${suffix}`)) copyFileSync(`${path}${suffix}`, `${copy}${suffix}`);
  }
  const server = await startServer({ database: copy });
  return {
    ...server,
    url: server.url,
    port: server.port,
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The SQLite file `key` in the temp folder, made once by `seed` on a fresh in-process server and
 * reused by later runs; a server of any process may then open it.
 */
export async function cachedSeedFile(key: string, seed: (server: ConvSyncServer) => Promise<void>): Promise<string> {
  mkdirSync(CACHE_DIR, { recursive: true });
  const path = join(CACHE_DIR, `${key}.sqlite`);
  const marker = `${path}.done`;
  if (!existsSync(marker)) {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
    const server = await startServer({ database: path });
    try {
      await seed(server);
    } finally {
      await server.close();
    }
    writeFileSync(marker, new Date().toISOString());
  }
  return path;
}

/** Every conversation of `ACCOUNT`, exactly as the server serves it (pulled in-process). */
export async function pullAll(server: ConvSyncServer): Promise<ConversationDoc[]> {
  const session = await server.connectInProcess(await server.issueToken(ACCOUNT));
  try {
    const docs: ConversationDoc[] = [];
    let checkpoint: Checkpoint | null = null;
    for (;;) {
      const answer = await session.request(ClientEvent.PULL, { collection: Collection.CONVERSATIONS, checkpoint, batchSize: 2000 }) as PullAnswer;
      if (!answer.ok) throw new Error(`pull failed: ${answer.error.desc}`);
      if (answer.collection !== Collection.CONVERSATIONS) throw new Error('pull answered another collection');
      docs.push(...answer.documents);
      checkpoint = answer.checkpoint;
      if (!answer.hasMore) return docs;
    }
  } finally {
    session.close();
  }
}
