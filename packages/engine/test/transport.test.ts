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
import type { ConnectionLifecycle } from '../src/transport/lifecycle.js';
import { SocketIoTransport } from '../src/transport/socket-io.js';
import type { ConnectionState, ResponseOf, Transport } from '../src/transport/transport.js';

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

/** Connects and resolves with the state once online. */
function connected(transport: Transport): Promise<ConnectionState> {
  transport.connect();
  return until(transport.state$, online);
}

/** The smallest request that needs the session: one conversation from the start of the log. */
function pullOne(transport: Transport): Promise<ResponseOf<'sync:pull'>> {
  return transport.request('sync:pull', { collection: 'conversations', checkpoint: null, batchSize: 1 });
}

/** disconnect() is offline at once and requests are refused as offline (192004); connect() goes back online. */
async function expectDisconnectThenReconnect(transport: ConnectionLifecycle): Promise<void> {
  transport.disconnect();
  expect(transport.state).toEqual({ status: 'offline', reason: 'disconnected' });
  await expect(pullOne(transport)).rejects.toMatchObject({ code: ErrorCode.OFFLINE });
  await connected(transport);
}

/** Connecting with a refused token ends in the terminal failed state, with 302. */
async function expectAuthFailed(transport: Transport): Promise<void> {
  transport.connect();
  const state = await until(transport.state$, (s) => s.status === 'failed');
  expect(state.status === 'failed' && state.error.code).toBe(ErrorCode.AUTH_FAILED);
}

/** A socket.io transport signed in as alice, on a server of its own. */
async function aliceOverSocketIo(): Promise<{ srv: ConvSyncServer; transport: SocketIoTransport }> {
  const srv = await server();
  const token = await srv.issueToken('alice');
  return { srv, transport: track(new SocketIoTransport({ urls: [srv.url], token, deviceId: 'd1' })) };
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
    const state = await connected(transport);
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
    await connected(transport);
    await expectDisconnectThenReconnect(transport);
    await expect(pullOne(transport)).resolves.toMatchObject({ hasMore: false });
  });

  it('a refused token is a terminal failure with 302', async () => {
    const srv = await server();
    const transport = track(new InMemoryTransport({ open: () => srv.connectInProcess('not-a-token'), retryMs: 10 }));
    await expectAuthFailed(transport);
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
    await connected(transport);
    sessions[0]?.close();
    await expect(pullOne(transport)).rejects.toMatchObject({ code: ErrorCode.OFFLINE });
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

describe('json pull pages', () => {
  /** An endpoint over the server's session that shows the transport's requests and answers to `tap`. */
  function tapped(srv: ConvSyncServer, token: string, tap: (event: string, payload: unknown, answer: object) => object): () => Promise<SessionEndpoint> {
    return async () => {
      const session = await srv.connectInProcess(token);
      return {
        onStream: (listener) => session.onStream(listener),
        close: () => session.close(),
        request: async (event, payload) => tap(event, payload, await session.request(event, payload)) as Awaited<ReturnType<SessionEndpoint['request']>>,
      };
    };
  }

  async function withConversations(count: number): Promise<{ srv: ConvSyncServer; token: string }> {
    const srv = await server();
    for (let i = 0; i < count; i++) await srv.sendMessage({ from: `peer${i}`, conversationType: ConversationType.P2P, targetId: 'alice', text: `hi ${i}` });
    return { srv, token: await srv.issueToken('alice') };
  }

  it('asks for json pages and hands them on parsed, equal to the objects form', async () => {
    const { srv, token } = await withConversations(3);
    const seen: { payload: unknown; answer: object }[] = [];
    const transport = track(new InMemoryTransport({
      open: tapped(srv, token, (event, payload, answer) => {
        if (event === 'sync:pull') seen.push({ payload, answer });
        return answer;
      }),
    }));
    await connected(transport);
    const page = await transport.request('sync:pull', { collection: 'conversations', checkpoint: null, batchSize: 10 });
    expect(seen[0]?.payload).toMatchObject({ format: 'json' });
    expect(typeof (seen[0]?.answer as { documentsJson?: unknown }).documentsJson).toBe('string');
    const objects = await (await srv.connectInProcess(token)).request('sync:pull', { collection: 'conversations', checkpoint: null, batchSize: 10 });
    expect(page).toEqual({ collection: 'conversations', documents: (objects as unknown as { documents: unknown }).documents, checkpoint: { seq: 3 }, hasMore: false });
    expect(page.documents).toHaveLength(3);
  });

  it('takes objects from a server that predates the json format', async () => {
    const { srv, token } = await withConversations(2);
    const transport = track(new InMemoryTransport({
      open: async () => {
        const session = await srv.connectInProcess(token);
        // An older server's schema drops the field it does not know.
        const request: SessionEndpoint['request'] = (event, payload) =>
          session.request(event, event === 'sync:pull' ? { ...(payload as object), format: undefined } : payload);
        return { onStream: (listener) => session.onStream(listener), close: () => session.close(), request };
      },
    }));
    await connected(transport);
    const page = await transport.request('sync:pull', { collection: 'conversations', checkpoint: null, batchSize: 10 });
    expect(page.documents.map((d) => 'conversationId' in d && d.conversationId).sort()).toEqual(['alice|1|peer0', 'alice|1|peer1']);
  });

  it.each([
    ['is not JSON', () => '[{"conversationId":'],
    ['holds a malformed document', () => '[{"conversationId":"nope"}]'],
  ])('refuses a page whose documentsJson %s with 500, passing nothing on', async (_, corrupt) => {
    const { srv, token } = await withConversations(1);
    const transport = track(new InMemoryTransport({
      open: tapped(srv, token, (event, _payload, answer) => (event === 'sync:pull' ? { ...answer, documentsJson: corrupt() } : answer)),
    }));
    await connected(transport);
    await expect(transport.request('sync:pull', { collection: 'conversations', checkpoint: null, batchSize: 10 }))
      .rejects.toMatchObject({ code: ErrorCode.INTERNAL });
  });

  it('decodes pages that travel as bytes over a real socket, page after page', async () => {
    const srv = await startServer({ database: ':memory:', port: 0, secret: SECRET, maxFrameBytes: 2_000 });
    cleanups.push(() => srv.close());
    for (let i = 0; i < 6; i++) await srv.sendMessage({ from: `peer${i}`, conversationType: ConversationType.P2P, targetId: 'alice', text: `hi ${i}` });
    const transport = track(new SocketIoTransport({ urls: [srv.url], token: await srv.issueToken('alice'), deviceId: 'd1' }));
    await connected(transport);
    const ids: string[] = [];
    let checkpoint: { seq: number } | null = null;
    let pages = 0;
    for (let more = true; more; pages++) {
      const page: ResponseOf<'sync:pull'> = await transport.request('sync:pull', { collection: 'conversations', checkpoint, batchSize: 100 });
      for (const doc of page.documents) if ('conversationId' in doc) ids.push(doc.conversationId);
      checkpoint = page.checkpoint;
      more = page.hasMore;
    }
    expect(pages).toBeGreaterThan(1);
    expect(ids.sort()).toEqual(Array.from({ length: 6 }, (_, i) => `alice|1|peer${i}`));
  });
});

describe('SocketIoTransport over a real socket', () => {
  it('authenticates on the handshake, answers requests and streams the account', async () => {
    const { srv, transport } = await aliceOverSocketIo();
    const state = await connected(transport);
    expect(state.status === 'online' && state.session.accountId).toBe('alice');

    const streamed = until(transport.stream$, (e) => e.documents.some((d) => 'conversationId' in d && d.conversationId === 'alice|2|t1'));
    await srv.createTeam({ teamId: 't1', name: 'Team', memberIds: ['alice', 'bob'] });
    await srv.sendMessage({ from: 'bob', conversationType: ConversationType.TEAM, targetId: 't1', text: 'hello team' });
    await streamed;
    const page = await transport.request('sync:pull', { collection: 'conversations', checkpoint: null, batchSize: 100 });
    expect(page.documents.map((d) => 'conversationId' in d && d.conversationId)).toContain('alice|2|t1');
  });

  it('the server\'s refusal of a bad request comes back as its ConvSyncError', async () => {
    const { transport } = await aliceOverSocketIo();
    await connected(transport);
    await expect(transport.request('message:list', { conversationId: 'mallory|1|bob', limit: 5 }))
      .rejects.toMatchObject({ name: 'ConvSyncError' });
  });

  it('a refused token fails with 302 and stops retrying', async () => {
    const srv = await server();
    const transport = track(new SocketIoTransport({ urls: [srv.url], token: 'bad', deviceId: 'd1', retryDelayMs: () => 10 }));
    await expectAuthFailed(transport);
  });

  it('moves on to the next URL when one cannot be reached', async () => {
    const srv = await server();
    const token = await srv.issueToken('alice');
    const dead = `http://127.0.0.1:${await deadPort()}`;
    const transport = track(new SocketIoTransport({ urls: [dead, srv.url], token, deviceId: 'd1', retryDelayMs: () => 10 }));
    const state = await connected(transport);
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
    await connected(transport);
    await first.close();
    await until(transport.state$, (s) => s.status === 'connecting');
    await expect(pullOne(transport)).rejects.toMatchObject({ code: ErrorCode.OFFLINE });
    const second = await server({ database, port });
    expect(second.url).toBe(first.url);
    await until(transport.state$, online, 15_000);
    await expect(pullOne(transport)).resolves.toMatchObject({ hasMore: false });
  });

  it('disconnect() goes offline at once and connect() comes back', async () => {
    const { transport } = await aliceOverSocketIo();
    await connected(transport);
    await expectDisconnectThenReconnect(transport);
  });
});
