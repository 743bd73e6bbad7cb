/**
 * Scale-out over the Redis adapter: two server processes (this one and a CLI child) share one
 * database file and one Redis; devices of one account on different processes see each other's
 * changes through the account room. Skipped when no Redis answers on 127.0.0.1:6379 — except under
 * CI (CI=true), where a missing Redis fails the suite instead of hiding it.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClientEvent, type ConversationDoc } from '@convsync/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, localDoc, waitFor } from './helpers.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const SECRET = 'redis-test-secret';

const redisUp = await new Promise<boolean>((resolve) => {
  const socket = createConnection({ host: '127.0.0.1', port: 6379 });
  socket.once('connect', () => { socket.end(); resolve(true); });
  socket.once('error', () => resolve(false));
});

describe.skipIf(!redisUp && process.env.CI !== 'true')('Redis adapter', () => {
  const h = new Harness();
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    await h.close();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('streams a change made through one process to the account\'s sockets on another', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'convsync-redis-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const database = join(dir, 'shared.sqlite');
    const local = await h.server({ database, redisUrl: REDIS_URL, secret: SECRET });
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', fileURLToPath(new URL('../src/cli.ts', import.meta.url)),
      '--port', '0', '--db', database, '--redis', REDIS_URL, '--secret', SECRET], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    cleanups.push(async () => {
      child.kill('SIGTERM');
      await exited;
    });
    const url = await new Promise<string>((resolve, reject) => {
      let buffer = '';
      child.stderr.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        // One JSON object per line, fields in any order.
        const listening = buffer.split('\n').find((line) => line.includes('"msg":"server listening"'));
        const match = listening === undefined ? null : /"url":"([^"]+)"/.exec(listening);
        if (match?.[1] !== undefined) resolve(match[1]);
      });
      child.once('exit', () => reject(new Error(`child exited: ${buffer}`)));
    });
    // Same secret, so a token of one process is valid on the other.
    const remote = { url, issueToken: (id: string) => local.issueToken(id) } as unknown as typeof local;
    // Unique accounts: the Redis channel is shared with any other server running meanwhile.
    const alice = `alice${Date.now().toString(36)}`;
    const phone = await h.client(local, alice, { deviceId: 'phone' });
    const laptop = await h.client(remote, alice, { deviceId: 'laptop' });
    const bob = await h.client(remote, 'bob');
    await phone.ok(ClientEvent.PUSH, { collection: 'conversations', rows: [{ newDocumentState: localDoc(`${alice}|1|x`) }] });
    await waitFor(() => laptop.streams.length === 1, 10_000, 'the stream on the other process');
    expect((laptop.streams[0]?.documents[0] as ConversationDoc).conversationId).toBe(`${alice}|1|x`);
    await bob.send(`bob|1|${alice}`, 'across processes');
    await waitFor(() => phone.streams.length === 2 && laptop.streams.length === 2, 10_000, 'message streams');
    expect((phone.streams[1]?.documents[0] as ConversationDoc)).toMatchObject({ conversationId: `${alice}|1|bob`, unreadCount: 1 });
    expect(phone.streams[1]?.prevSeq).toBe(1);
    expect((await laptop.pullAll()).documents.map((d) => d.conversationId).sort()).toEqual([`${alice}|1|bob`, `${alice}|1|x`]);
  });
});
