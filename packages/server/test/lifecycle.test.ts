import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientEvent, ConversationType, ErrorCode, type Message } from '@convsync/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from '../src/index.js';
import { Harness } from './helpers.js';

describe('lifecycle and HTTP', () => {
  const h = new Harness();
  const dirs: string[] = [];
  afterEach(async () => {
    await h.close();
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('fails to start with a clear error when the postgres:// database does not answer', async () => {
    await expect(startServer({ database: 'postgres://postgres@127.0.0.1:1/test', port: 0 }))
      .rejects.toMatchObject({ code: ErrorCode.INTERNAL, desc: 'PostgreSQL store could not start' });
  });

  it('serves /healthz and /metrics next to socket.io, and /dev/token only in dev mode', async () => {
    const server = await h.server();
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const alice = await h.client(server, 'alice');
    await alice.send('alice|1|bob', 'hi');
    await alice.request(ClientEvent.PULL, { collection: 'bad' });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^convsync_connections 1$/m);
    expect(metrics).toMatch(/^convsync_messages_total 1$/m);
    expect(metrics).toMatch(/^convsync_errors_total\{code="191004"\} 1$/m);
    const off = await fetch(`${server.url}/dev/token`, { method: 'POST', body: '{"accountId":"alice"}' });
    expect(off.status).toBe(404);
    await off.text();
    const dev = await h.server({ dev: true, allowedOrigins: ['http://localhost:5173'] });
    const preflight = await fetch(`${dev.url}/dev/token`, { method: 'OPTIONS', headers: { origin: 'http://localhost:5173' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    const answer = await fetch(`${dev.url}/dev/token`, { method: 'POST', body: '{"accountId":"alice"}' });
    const { token } = (await answer.json()) as { token: string };
    const endpoint = await dev.connectInProcess(token);
    expect(await endpoint.request(ClientEvent.SESSION_INFO, {})).toMatchObject({ ok: true, accountId: 'alice' });
  });

  it('close waits for running transactions: every acknowledged message survives a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'convsync-close-'));
    dirs.push(dir);
    const database = join(dir, 'db.sqlite');
    const server = await startServer({ database, port: 0 });
    await server.createTeam({ teamId: 't', name: 'T', memberIds: Array.from({ length: 200 }, (_, i) => `u${i}`) });
    const sends = Array.from({ length: 50 }, (_, i) =>
      server.sendMessage({ from: `u${i}`, conversationType: ConversationType.TEAM, targetId: 't', text: `m${i}`, clientMessageId: `c${i}` }));
    const closing = server.close();
    const outcomes = await Promise.allSettled(sends);
    await closing;
    const stored = outcomes.filter((o): o is PromiseFulfilledResult<Message> => o.status === 'fulfilled').map((o) => o.value);
    expect(stored.length).toBeGreaterThan(0);
    const reopened = await h.server({ database });
    const endpoint = await reopened.connectInProcess(await reopened.issueToken('u199'));
    const list = await endpoint.request(ClientEvent.MESSAGE_LIST, { conversationId: 'u199|2|t', limit: 100 });
    expect(list).toMatchObject({ ok: true });
    const ids = (list as unknown as { messages: Message[] }).messages.map((m) => m.messageServerId).sort();
    expect(ids).toEqual(stored.map((m) => m.messageServerId).sort());
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });
});
