/**
 * The transports against the real server: the in-memory one over `connectInProcess`, the socket.io
 * one over a real socket. Online/offline/failed states, validated answers and stream events,
 * terminal refusals, URL rotation and reconnection after a lost server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { filter, firstValueFrom, timeout, type Observable } from 'rxjs';
import { ConversationType, ErrorCode, type SessionEndpoint, type StreamEvent } from '@convsync/protocol';
import { startServer, type ConvSyncServer } from '@convsync/server';
import { InMemoryTransport } from '../src/transport/in-memory.js';
import { SocketIoTransport } from '../src/transport/socket-io.js';
import type { ConnectionState, Transport } from '../src/transport/transport.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const SECRET = 'transport-test-secret-0123456789abcdef';

async function server(options: { database?: string; port?: number } = {}): Promise<ConvSyncServer> {
  const started = await startServer({ database: options.database ?? ':memory:', port: options.port ?? 0, secret: SECRET });
  cleanups.push(() => started.close());
  return started;
}

function until<T>(source: Observable<T>, predicate: (value: T) => boolean, ms = 10_000): Promise<T> {
  return firstValueFrom(source.pipe(filter(predicate), timeout(ms)));
}

const online = (s: ConnectionState): boolean => s.status === 'online';

function track<T extends Transport>(transport: T): T {
  cleanups.push(() => transport.close());
  return transport;
}

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('InMemoryTransport over the server session', () => {
  it('goes online with the session of the token, answers requests and streams the account', async () => {
    const srv = await server();
    const token = await srv.issueToken('alice');
    const transport = track(new InMemoryTransport({ open: () => srv.connectInProcess(token, { deviceId: 'd1' }) }));
    expect(transport.state.status).toBe('offline');
    transport.connect();
    const state = await until(transport.state$, online);
    expect(state.status === 'online' && state.session.accountId).toBe('alice');
    expect(state.status === 'online' && Math.abs(state.clockOffsetMs)).toBeLessThan(1000);

    const page = await transport.request('sync:pull', { collection: 'conversations', checkpoint: null, batchSize: 10 });
    expect(page.documents).toEqual([]);
    expect(page.hasMore).toBe(false);

    const streamed = until(transport.stream$, (e: StreamEvent) => e.collection === 'conversations' && e.documents.length > 0);
    await srv.sendMessage({ from: 'bob', conversationType: ConversationType.P2P, targetId: 'alice', text: 'hi' });
    const event = await streamed;
    if (event.collection !== 'conversations') throw new Error('expected a conversations event');
    expect(event.documents[0]?.conversationId).toBe('alice|1|bob');
    expect(event.documents[0]?.unreadCount).toBe(1);
  });

  it('refuses requests while disconnected (192004) and works again after connect()', async () => {
    const srv = await server();
    const token = await srv.issueToken('alice');
    const transport = track(new InMemoryTransport({ open: () => srv.connectInProcess(token) }));
    transport.connect();
    await until(transport.state$, online);
    transport.disconnect();
    expect(transport.state).toEqual({ status: 'offline', reason: 'disconnected' });
    await expect(transport.request('sync:pull', { collection: 'conversations', checkpoint: null, batchSize: 1 }))
      .rejects.toMatchObject({ code: ErrorCode.OFFLINE });
    transport.connect();
    await until(transport.state$, online);
    await expect(transport.request('sync:pull', { collection: 'conversations', checkpoint: null, batchSize: 1 }))
      .resolves.toMatchObject({ hasMore: false });
  });

  it('a refused token is a terminal failure with 302', async () => {
    const srv = await server();
    const transport = track(new InMemoryTransport({ open: () => srv.connectInProcess('not-a-token'), retryMs: 10 }));
    transport.connect();
    const state = await until(transport.state$, (s) => s.status === 'failed');
    expect(state.status === 'failed' && state.error.code).toBe(ErrorCode.AUTH_FAILED);
  });

  it('a session the server ended (192004) counts as lost and is reopened', async () => {
    const srv = await server();
    const token = await srv.issueToken('alice');
    const sessions: SessionEndpoint[] = [];
    const transport = track(new InMemoryTransport({
      open: async () => {
        const session = await srv.connectInProcess(token);
        sessions.push(session);
        return session;
      },
      retryMs: 10,
    }));
    transport.connect();
    await until(transport.state$, online);
    sessions[0]?.close();
    await expect(transport.request('sync:pull', { collection: 'conversations', checkpoint: null, batchSize: 1 }))
      .rejects.toMatchObject({ code: ErrorCode.OFFLINE });
    await until(transport.state$, online);
    expect(sessions.length).toBe(2);
  });

  it('retries while the server cannot be reached, without hanging the caller', async () => {
    let attempts = 0;
    const transport = track(new InMemoryTransport({
      open: () => {
        attempts++;
        return Promise.reject(new Error('unreachable'));
      },
      retryMs: 5,
    }));
    transport.connect();
    await until(transport.state$, (s) => s.status === 'connecting' && s.attempt >= 4);
    expect(attempts).toBeGreaterThanOrEqual(3);
    await expect(transport.request('message:list', { conversationId: 'a|1|b', limit: 1 })).rejects.toMatchObject({ code: ErrorCode.OFFLINE });
  });
});

describe('SocketIoTransport over a real socket', () => {
  it('authenticates on the handshake, answers requests and streams the account', async () => {
    const srv = await server();
    const token = await srv.issueToken('alice');
    const transport = track(new SocketIoTransport({ urls: [srv.url], token, deviceId: 'd1' }));
    transport.connect();
    const state = await until(transport.state$, online);
    expect(state.status === 'online' && state.session.accountId).toBe('alice');

    const streamed = until(transport.stream$, (e) => e.documents.some((d) => 'conversationId' in d && d.conversationId === 'alice|2|t1'));
    await srv.createTeam({ teamId: 't1', name: 'Team', memberIds: ['alice', 'bob'] });
    await srv.sendMessage({ from: 'bob', conversationType: ConversationType.TEAM, targetId: 't1', text: 'hello team' });
    await streamed;
    const page = await transport.request('sync:pull', { collection: 'conversations', checkpoint: null, batchSize: 100 });
    expect(page.documents.map((d) => 'conversationId' in d && d.conversationId)).toContain('alice|2|t1');
  });

  it('the server\'s refusal of a bad request comes back as its ConvSyncError', async () => {
    const srv = await server();
    const token = await srv.issueToken('alice');
    const transport = track(new SocketIoTransport({ urls: [srv.url], token, deviceId: 'd1' }));
    transport.connect();
    await until(transport.state$, online);
    await expect(transport.request('message:list', { conversationId: 'mallory|1|bob', limit: 5 }))
      .rejects.toMatchObject({ name: 'ConvSyncError' });
  });

  it('a refused token fails with 302 and stops retrying', async () => {
    const srv = await server();
    const transport = track(new SocketIoTransport({ urls: [srv.url], token: 'bad', deviceId: 'd1', retryDelayMs: () => 10 }));
    transport.connect();
    const state = await until(transport.state$, (s) => s.status === 'failed');
    expect(state.status === 'failed' && state.error.code).toBe(ErrorCode.AUTH_FAILED);
  });

  it('moves on to the next URL when one cannot be reached', async () => {
    const srv = await server();
    const token = await srv.issueToken('alice');
    const dead = `http://127.0.0.1:${await deadPort()}`;
    const transport = track(new SocketIoTransport({ urls: [dead, srv.url], token, deviceId: 'd1', retryDelayMs: () => 10 }));
    transport.connect();
    const state = await until(transport.state$, online);
    expect(state.status === 'online' && state.session.accountId).toBe('alice');
  });

  it('reconnects on its own after the server restarts, and requests work again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'convsync-transport-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const database = join(dir, 'server.sqlite');
    const first = await startServer({ database, port: 0, secret: SECRET });
    const port = first.port;
    const token = await first.issueToken('alice');
    const transport = track(new SocketIoTransport({ urls: [first.url], token, deviceId: 'd1', retryDelayMs: () => 50 }));
    transport.connect();
    await until(transport.state$, online);
    await first.close();
    await until(transport.state$, (s) => s.status === 'connecting');
    await expect(transport.request('sync:pull', { collection: 'conversations', checkpoint: null, batchSize: 1 }))
      .rejects.toMatchObject({ code: ErrorCode.OFFLINE });
    const second = await server({ database, port });
    expect(second.url).toBe(first.url);
    await until(transport.state$, online, 15_000);
    await expect(transport.request('sync:pull', { collection: 'conversations', checkpoint: null, batchSize: 1 }))
      .resolves.toMatchObject({ hasMore: false });
  });

  it('disconnect() goes offline at once and connect() comes back', async () => {
    const srv = await server();
    const token = await srv.issueToken('alice');
    const transport = track(new SocketIoTransport({ urls: [srv.url], token, deviceId: 'd1' }));
    transport.connect();
    await until(transport.state$, online);
    transport.disconnect();
    expect(transport.state).toEqual({ status: 'offline', reason: 'disconnected' });
    await expect(transport.request('sync:pull', { collection: 'conversations', checkpoint: null, batchSize: 1 }))
      .rejects.toMatchObject({ code: ErrorCode.OFFLINE });
    transport.connect();
    await until(transport.state$, online);
  });
});
