import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { startServer, type ConvSyncServer } from '@convsync/server';
import { ErrorCode } from '../src/index.js';
import { firstValueFrom, toArray, take } from 'rxjs';
import { ConversationType, conversationId, createConversationEngine, parseConversationId, type ConversationEngine } from '../src/index.js';
import { closeAll, inMemoryDevice, interceptRequests, synced, track, uniqueName } from './engine.helpers.js';
import { codeOf, waitFor } from './services.helpers.js';

/** A URL where nothing listens (a port taken and released). */
async function deadUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}

/** A JWT-shaped token naming `sub` (the server will refuse its signature). */
function unsignedToken(sub: string): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub })}.c2lnbmF0dXJl`;
}

let server: ConvSyncServer | undefined;

afterEach(async () => {
  await closeAll();
  await server?.close();
  server = undefined;
});

describe('createConversationEngine options', () => {
  it('refuses a missing token with 302 and a token naming no account with 302', async () => {
    expect(await codeOf(createConversationEngine({ url: 'http://127.0.0.1:1', token: '' }))).toBe(ErrorCode.AUTH_FAILED);
    expect(await codeOf(createConversationEngine({ url: 'http://127.0.0.1:1', token: 'not-a-jwt' }))).toBe(ErrorCode.AUTH_FAILED);
  });

  it('refuses a missing url, a malformed url, a bad device id or database name, an unknown storage with 191004', async () => {
    const token = unsignedToken('alice');
    const bad: Record<string, unknown>[] = [
      { token },
      { token, url: 'not a url' },
      { token, url: 'http://127.0.0.1:1', deviceId: 'bad id!' },
      { token, url: 'http://127.0.0.1:1', databaseName: 'Upper Case' },
      { token, url: 'http://127.0.0.1:1', storage: 'sqlite' },
      { token, url: 'http://127.0.0.1:1', storage: 'dexie' },
      { token, urls: ['http://127.0.0.1:1', 42] },
    ];
    for (const options of bad) {
      expect(await codeOf(createConversationEngine(options as never)), JSON.stringify(options)).toBe(ErrorCode.INVALID_PARAMETER);
    }
  });
});

describe('an engine without the network', () => {
  it('opens at once when the server is unreachable, works on the replica, and reports the outage', async () => {
    const started = Date.now();
    const engine = track(await createConversationEngine({
      url: await deadUrl(),
      token: unsignedToken('alice'),
      databaseName: uniqueName('offline'),
      deviceId: 'offline1',
    }));
    expect(Date.now() - started).toBeLessThan(3000);
    const failed: number[] = [];
    engine.conversationService.on('onSyncFailed', (error) => failed.push(error.code));
    const created = await engine.conversationService.createConversation('alice|1|bob');
    expect(created.conversationId).toBe('alice|1|bob');
    await engine.conversationService.stickTopConversation('alice|1|bob', true);
    expect((await engine.conversationService.getStickTopConversationList()).map((c) => c.conversationId)).toEqual(['alice|1|bob']);
    await waitFor(engine.syncState$, (state) => state === 'error', 15_000);
    expect(failed).toContain(ErrorCode.SERVER_UNREACHABLE);
  });

  it('is offline after disconnect(), pushes what was done meanwhile on connect()', async () => {
    server = await startServer({ database: ':memory:', port: 0 });
    const a = await inMemoryDevice(server, 'alice');
    const b = await inMemoryDevice(server, 'alice');
    a.disconnect();
    await waitFor(a.syncState$, (state) => state === 'offline');
    await a.conversationService.createConversation('alice|1|zoe');
    await a.conversationService.stickTopConversation('alice|1|zoe', true);
    a.connect();
    await waitFor(b.conversationService.conversation$('alice|1|zoe'), (c) => c?.stickTop === true);
    await synced(a);
  });
});

describe('sync state and events', () => {
  it('goes offline → syncing → synced on connect, and fires onSyncStarted then onSyncFinished', async () => {
    server = await startServer({ database: ':memory:', port: 0 });
    const engine = await inMemoryDevice(server, 'alice', { autoConnect: false });
    const events: string[] = [];
    engine.conversationService.on('onSyncStarted', () => events.push('started'));
    engine.conversationService.on('onSyncFinished', () => events.push('finished'));
    const states = firstValueFrom(engine.syncState$.pipe(take(3), toArray()));
    engine.connect();
    expect(await states).toEqual(['offline', 'syncing', 'synced']);
    expect(events).toEqual(['started', 'finished']);
  });

  it('a local change after synced shows syncing until its push is answered, without another onSyncStarted', async () => {
    server = await startServer({ database: ':memory:', port: 0 });
    await server.sendMessage({ from: 'bob', conversationType: 1, targetId: 'alice', text: 'hi' });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    let first = true;
    const engine = await inMemoryDevice(server, 'alice', {
      wrap: (inner) => interceptRequests(inner, async (event, payload, options) => {
        const answer = await inner.request(event, payload, options);
        if (event === 'sync:push' && first) {
          first = false;
          holding();
          await released;
        }
        return answer;
      }),
    });
    const events: string[] = [];
    engine.conversationService.on('onSyncStarted', () => events.push('started'));
    const states: string[] = [];
    engine.syncState$.subscribe((state) => states.push(state));
    await engine.conversationService.stickTopConversation('alice|1|bob', true);
    await held;
    expect(states).toEqual(['synced', 'syncing']);
    release();
    await synced(engine);
    expect(states).toEqual(['synced', 'syncing', 'synced']);
    expect(events).toEqual([]);
  });

  it('a push batch larger than a socket.io frame is split and lands over socket.io', async () => {
    server = await startServer({ database: ':memory:', port: 0 });
    // Control characters are one UTF-8 byte each but six in JSON: a row whose new and assumed
    // states both carry such an extension and preview is ≈ 20 KB, 100 of them ≈ 2 MB.
    const heavy = (code: number) => String.fromCharCode(code).repeat(1024);
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) {
      await server.sendMessage({ from: `u${i}`, conversationType: 1, targetId: 'alice', text: heavy(3).slice(0, 500) });
      ids.push(`alice|1|u${i}`);
    }
    const options = { url: server.url, token: await server.issueToken('alice') };
    const device = track(await createConversationEngine({ ...options, databaseName: uniqueName('heavy') }));
    await synced(device);
    for (const extension of [heavy(1), heavy(2)]) {
      device.disconnect();
      for (const id of ids) await device.conversationService.updateConversation(id, { serverExtension: extension });
      device.connect();
      await synced(device, 30_000);
    }
    const other = track(await createConversationEngine({ ...options, databaseName: uniqueName('heavy-reader') }));
    await synced(other);
    const list = await other.conversationService.getConversationList(0, 100);
    expect(list.conversationList.filter((c) => c.serverExtension === heavy(2))).toHaveLength(100);
  }, 60_000);

  it('a token the server refuses ends in state error with onSyncFailed 302 over socket.io', async () => {
    server = await startServer({ database: ':memory:', port: 0 });
    const engine = track(await createConversationEngine({
      url: server.url,
      token: unsignedToken('alice'),
      databaseName: uniqueName('refused'),
    }));
    const failed = new Promise<number>((resolve) => engine.conversationService.on('onSyncFailed', (error) => resolve(error.code)));
    await waitFor(engine.syncState$, (state) => state === 'error');
    expect(await failed).toBe(ErrorCode.AUTH_FAILED);
  });
});

describe('a session that ends', () => {
  it('an expired token ends the session: state error with onSyncFailed 302, and the replica still works', async () => {
    server = await startServer({ database: ':memory:', port: 0 });
    const engine = track(await createConversationEngine({
      url: server.url,
      token: await server.issueToken('alice', { expiresInSeconds: 2 }),
      databaseName: uniqueName('expiry'),
    }));
    await synced(engine);
    const failed = new Promise<number>((resolve) => engine.conversationService.on('onSyncFailed', (error) => resolve(error.code)));
    await waitFor(engine.syncState$, (state) => state === 'error', 10_000);
    expect(await failed).toBe(ErrorCode.AUTH_FAILED);
    await engine.conversationService.createConversation('alice|1|bob');
    expect((await engine.conversationService.getConversation('alice|1|bob')).conversationId).toBe('alice|1|bob');
  });
});

describe('the replica across restarts', () => {
  it('keeps its generated device id', async () => {
    server = await startServer({ database: ':memory:', port: 0 });
    const databaseName = uniqueName('device');
    const first = await inMemoryDevice(server, 'alice', { databaseName, autoConnect: false });
    const deviceId = first.deviceId;
    expect(deviceId).toMatch(/^[A-Za-z0-9_.-]{1,64}$/);
    await first.close();
    const second = await inMemoryDevice(server, 'alice', { databaseName, autoConnect: false });
    expect(second.deviceId).toBe(deviceId);
  });

  it('keeps the clock offset, so an offline cold start of a skewed device still uses server time', async () => {
    server = await startServer({ database: ':memory:', port: 0 });
    const databaseName = uniqueName('skew');
    const day = 24 * 3600 * 1000;
    const skewed = (): number => Date.now() - day;
    const online = await inMemoryDevice(server, 'alice', { databaseName, now: skewed });
    await online.close();
    const offline = await inMemoryDevice(server, 'alice', { databaseName, now: skewed, autoConnect: false });
    const created = await offline.conversationService.createConversation('alice|1|bob');
    expect(Math.abs(created.updateTime - Date.now())).toBeLessThan(60_000);
  });
});

describe('several server URLs', () => {
  it('rotates past a dead URL to a live one', async () => {
    server = await startServer({ database: ':memory:', port: 0 });
    await server.sendMessage({ from: 'bob', conversationType: 1, targetId: 'alice', text: 'hi' });
    const engine: ConversationEngine = track(await createConversationEngine({
      urls: [await deadUrl(), server.url],
      token: await server.issueToken('alice'),
      databaseName: uniqueName('urls'),
    }));
    await synced(engine, 15_000);
    expect(engine.conversationService.getTotalUnreadCount()).toBe(1);
  });
});

describe('conversation ids', () => {
  it('conversationIdUtil is bound to the engine account; the root helpers need no engine', async () => {
    server = await startServer({ database: ':memory:', port: 0 });
    const engine = await inMemoryDevice(server, 'alice', { autoConnect: false });
    const util = engine.conversationIdUtil;
    expect(util.p2pConversationId('bob')).toBe('alice|1|bob');
    expect(util.teamConversationId('t1')).toBe('alice|2|t1');
    expect(util.superTeamConversationId('s1')).toBe('alice|3|s1');
    expect(util.parseConversationType('alice|2|t1')).toBe(ConversationType.TEAM);
    expect(util.parseConversationTargetId('alice|3|s1')).toBe('s1');
    expect(() => util.parseConversationType('nonsense')).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_PARAMETER }));
    expect(conversationId('bob', ConversationType.P2P, 'alice')).toBe('bob|1|alice');
    expect(parseConversationId('bob|1|alice')).toEqual({ selfId: 'bob', type: ConversationType.P2P, targetId: 'alice' });
  });
});

describe('close()', () => {
  it('is idempotent and leaves nothing running', async () => {
    server = await startServer({ database: ':memory:', port: 0 });
    const engine = await inMemoryDevice(server, 'alice');
    await Promise.all([engine.close(), engine.close()]);
    await engine.close();
  });
});
