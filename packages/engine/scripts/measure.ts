/**
 * `pnpm measure` — the two figures issue 3 asks for, against the real server (SQLite file in a temp
 * dir) over socket.io:
 *
 * 1. initial sync of 3,000 conversations on a fresh device (each conversation made by
 *    `server.sendMessage` from a distinct peer, so each has one unread): from
 *    `createConversationEngine` until `syncState$` is 'synced' and `totalUnreadCount$` is 3,000;
 *    memory and Dexie over fake-indexeddb, 3 runs each, median. Next to it the floor: the same pages
 *    pulled raw over the same transport and stored with one `bulkInsert` (no replication, no views).
 * 2. propagation between two devices of one account: `stickTopConversation` on A until B's
 *    `conversation$` shows it, and `server.sendMessage` until both devices show the unread;
 *    20 samples each, median and p95.
 *
 * Options: `--conversations N` (default 3000), `--runs N` (default 3), `--samples N` (default 20).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { combineLatest, filter, firstValueFrom, timeout, type Observable } from 'rxjs';
import { ConversationType } from '@convsync/protocol';
import { startServer, type ConvSyncServer } from '@convsync/server';
import { createConversationEngine, type ConversationEngine } from '../src/index.js';
import { openReplica } from '../src/replica/database.js';
import { SocketIoTransport } from '../src/transport/socket-io.js';

const { values } = parseArgs({
  options: {
    conversations: { type: 'string', default: '3000' },
    runs: { type: 'string', default: '3' },
    samples: { type: 'string', default: '20' },
  },
});
const N = Number(values.conversations);
const RUNS = Number(values.runs);
const SAMPLES = Number(values.samples);
const ACCOUNT = 'alice';
type Storage = 'memory' | 'dexie';

let unique = 0;
const name = (prefix: string): string => `${prefix}-${process.pid}-${Date.now()}-${++unique}`;
const storageOptions = (storage: Storage) =>
  (storage === 'dexie' ? { storage, indexedDB: indexedDB as unknown, IDBKeyRange: IDBKeyRange as unknown } : { storage });

function until<T>(source: Observable<T>, predicate: (value: T) => boolean, ms: number, what: string): Promise<T> {
  return firstValueFrom(source.pipe(filter(predicate), timeout({ first: ms, with: () => { throw new Error(`timed out: ${what}`); } })));
}

function quantile(samples: readonly number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

const ms = (value: number): string => `${value.toFixed(value < 100 ? 1 : 0)} ms`;

/** Raw pages over the same transport, one bulkInsert: what any sync must at least spend. */
async function floorSync(server: ConvSyncServer, token: string, storage: Storage): Promise<number> {
  const start = performance.now();
  const replica = await openReplica({ name: name('floor'), ...storageOptions(storage) });
  const transport = new SocketIoTransport({ urls: [server.url], token, deviceId: 'floor' });
  try {
    transport.connect();
    await until(transport.state$, (s) => s.status === 'online', 10_000, 'floor transport online');
    const documents: unknown[] = [];
    let checkpoint: { seq: number } | null = null;
    for (;;) {
      const page: { documents: unknown[]; checkpoint: { seq: number }; hasMore: boolean } =
        await transport.request('sync:pull', { collection: 'conversations', checkpoint, batchSize: 2000 });
      documents.push(...page.documents);
      checkpoint = page.checkpoint;
      if (!page.hasMore) break;
    }
    await replica.conversations.bulkInsert(documents as never[]);
    if (documents.length !== N) throw new Error(`floor pulled ${documents.length}, expected ${N}`);
    return performance.now() - start;
  } finally {
    transport.close();
    await replica.close();
  }
}

async function engineSync(server: ConvSyncServer, token: string, storage: Storage): Promise<number> {
  const start = performance.now();
  const engine = await createConversationEngine({ url: server.url, token, databaseName: name('fresh'), ...storageOptions(storage) });
  try {
    await until(combineLatest([engine.syncState$, engine.conversationService.totalUnreadCount$]),
      ([state, unread]) => state === 'synced' && unread === N, 600_000, `fresh sync of ${N}`);
    return performance.now() - start;
  } finally {
    await engine.close();
  }
}

async function propagation(server: ConvSyncServer, token: string): Promise<{ pin: number[]; message: number[] }> {
  const open = (): Promise<ConversationEngine> =>
    createConversationEngine({ url: server.url, token, storage: 'memory', databaseName: name('prop') });
  const a = await open();
  const b = await open();
  try {
    for (const engine of [a, b]) await until(engine.syncState$, (s) => s === 'synced', 600_000, 'devices synced');
    const pin: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const conversationId = `${ACCOUNT}|1|peer${i}`;
      const stickTop = !(await firstValueFrom(a.conversationService.conversation$(conversationId)))?.stickTop;
      const seen = until(b.conversationService.conversation$(conversationId), (c) => c?.stickTop === stickTop, 10_000, 'B sees the pin');
      const start = performance.now();
      await a.conversationService.stickTopConversation(conversationId, stickTop);
      await seen;
      pin.push(performance.now() - start);
    }
    const message: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const peer = `newpeer${i}`;
      const conversationId = `${ACCOUNT}|1|${peer}`;
      const seen = Promise.all([a, b].map((engine) =>
        until(engine.conversationService.conversation$(conversationId), (c) => c?.unreadCount === 1, 10_000, 'device sees the message')));
      const start = performance.now();
      await server.sendMessage({ from: peer, conversationType: ConversationType.P2P, targetId: ACCOUNT, text: `ping ${i}` });
      await seen;
      message.push(performance.now() - start);
    }
    return { pin, message };
  } finally {
    await a.close();
    await b.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'convsync-measure-'));
  const server = await startServer({ database: join(dir, 'server.sqlite'), port: 0 });
  try {
    const seedStart = performance.now();
    for (let i = 0; i < N; i++) {
      await server.sendMessage({ from: `peer${i}`, conversationType: ConversationType.P2P, targetId: ACCOUNT, text: `hello ${i}` });
    }
    console.log(`server: ${server.url}, SQLite file; seeded ${N} conversations in ${ms(performance.now() - seedStart)}`);
    const token = await server.issueToken(ACCOUNT);

    const rows: string[] = ['| storage | engine (median) | floor (median) | engine / floor | engine runs |', '|---|---|---|---|---|'];
    for (const storage of ['memory', 'dexie'] as const) {
      const engine: number[] = [];
      const floor: number[] = [];
      // One untimed round first: the JIT and the storage code warm up for both sides alike.
      await floorSync(server, token, storage);
      await engineSync(server, token, storage);
      for (let run = 0; run < RUNS; run++) {
        floor.push(await floorSync(server, token, storage));
        engine.push(await engineSync(server, token, storage));
      }
      const e = quantile(engine, 0.5);
      const f = quantile(floor, 0.5);
      rows.push(`| ${storage === 'dexie' ? 'dexie (fake-indexeddb)' : 'memory'} | ${ms(e)} | ${ms(f)} | ${(e / f).toFixed(2)} | ${engine.map(ms).join(', ')} |`);
    }
    console.log(`\nInitial sync of ${N} conversations on a fresh device (socket.io, ${RUNS} runs)\n`);
    console.log(rows.join('\n'));

    const { pin, message } = await propagation(server, token);
    console.log(`\nPropagation between two devices of one account (socket.io, ${SAMPLES} samples, ${N} conversations in each replica)\n`);
    console.log('| change | median | p95 | max |\n|---|---|---|---|');
    console.log(`| stickTopConversation on A → B's conversation$ | ${ms(quantile(pin, 0.5))} | ${ms(quantile(pin, 0.95))} | ${ms(Math.max(...pin))} |`);
    console.log(`| server.sendMessage → unread on A and B | ${ms(quantile(message, 0.5))} | ${ms(quantile(message, 0.95))} | ${ms(Math.max(...message))} |`);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
