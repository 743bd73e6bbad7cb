/**
 * The transports against a server with rate limits and drains: a 416 answer holds the transport
 * off by its `retryAfterMs` and the request is sent again (never lost, never applied twice); a
 * handshake refused as rate limited waits the hint before the next attempt; `session:move` makes
 * the device reconnect to the next server without an error; the outbox delivers every message
 * exactly once through a tight limit; reconnect delays are full-jitter exponential.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { filter, firstValueFrom, timeout, type Observable } from 'rxjs';
import { ClientEvent, ConvSyncError, ErrorCode, MAX_RECONNECT_IN_MS, type Answer, type Message, type MessageListResponse } from '@convsync/protocol';
import { startServer, type ConvSyncServer, type ServerOptions } from '@convsync/server';
import { BASE_RETRY_DELAY_MS, MAX_RETRY_DELAY_MS, defaultRetryDelay } from '../src/transport/backoff.js';
import { HoldOff } from '../src/transport/hold-off.js';
import { SocketIoTransport } from '../src/transport/socket-io.js';
import type { ConnectionState } from '../src/transport/transport.js';
import { eventually, openServices, type ServiceHarness } from './services.helpers.js';

const SECRET = 'transport-limits-secret-0123456789abcdef';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(options: ServerOptions = {}): Promise<ConvSyncServer> {
  const started = await startServer({ database: ':memory:', port: 0, secret: SECRET, ...options });
  cleanups.push(() => started.close());
  return started;
}

function socketTransport(urls: string[], token: string, errors: unknown[] = []): SocketIoTransport {
  const transport = new SocketIoTransport({ urls, token, deviceId: 'd1', retryDelayMs: () => 20, onError: (e) => errors.push(e) });
  cleanups.push(() => transport.close());
  return transport;
}

function until<T>(source: Observable<T>, predicate: (value: T) => boolean, ms = 10_000): Promise<T> {
  return firstValueFrom(source.pipe(filter(predicate), timeout(ms)));
}

function record(transport: SocketIoTransport): ConnectionState[] {
  const states: ConnectionState[] = [];
  const subscription = transport.state$.subscribe((s) => states.push(s));
  cleanups.push(() => subscription.unsubscribe());
  return states;
}

async function metric(srv: ConvSyncServer, pattern: RegExp): Promise<number> {
  return Number(pattern.exec(await (await fetch(`${srv.url}/metrics`)).text())?.[1] ?? Number.NaN);
}

describe('rate limits seen from the engine', () => {
  it('a request refused with 416 is held off by retryAfterMs and sent again: every send lands exactly once', async () => {
    const srv = await server({ limits: { eventsPerAccount: { points: 4, durationSeconds: 1 } } });
    const transport = socketTransport([srv.url], await srv.issueToken('alice'));
    transport.connect();
    await until(transport.state$, (s) => s.status === 'online');
    const ids = Array.from({ length: 10 }, (_, i) => `c-${i}`);
    const answers = await Promise.all(ids.map((clientMessageId) =>
      transport.request(ClientEvent.MESSAGE_SEND, { clientMessageId, conversationId: 'alice|1|bob', text: clientMessageId })));
    expect(answers.map((a) => a.message.messageClientId).sort()).toEqual([...ids].sort());
    expect(await metric(srv, /convsync_rate_limited_total\{scope="account"\} (\d+)/)).toBeGreaterThan(0);
    const history = await transport.request(ClientEvent.MESSAGE_LIST, { conversationId: 'alice|1|bob', limit: 100 });
    expect(history.messages.map((m) => m.messageClientId).sort()).toEqual([...ids].sort());
  });

  it('a handshake refused with 416 waits out the hint, then connects, never failing', async () => {
    const srv = await server({ limits: { handshakesPerAccount: { points: 1, durationSeconds: 2 } } });
    const token = await srv.issueToken('alice');
    const first = socketTransport([srv.url], token);
    first.connect();
    await until(first.state$, (s) => s.status === 'online');
    const errors: unknown[] = [];
    const second = socketTransport([srv.url], token, errors);
    const states = record(second);
    const started = Date.now();
    second.connect();
    await until(second.state$, (s) => s.status === 'online', 15_000);
    // The retry delay alone is 20 ms: only the hint explains waiting for the window to pass.
    expect(Date.now() - started).toBeGreaterThan(500);
    expect(errors.filter((e) => (e as { code?: number }).code === ErrorCode.RATE_LIMITED).length).toBeGreaterThan(0);
    expect(errors.length).toBeLessThan(5);
    expect(states.some((s) => s.status === 'failed')).toBe(false);
  });

  it('session:move reconnects to the next server after the delay, without reporting an error', async () => {
    const a = await server();
    const b = await server();
    const errors: unknown[] = [];
    const transport = socketTransport([a.url, b.url], await a.issueToken('alice'), errors);
    const states = record(transport);
    transport.connect();
    await until(transport.state$, (s) => s.status === 'online');
    const drained = a.drain({ windowMs: 300 });
    await until(transport.state$, (s) => s.status === 'connecting');
    const back = await until(transport.state$, (s) => s.status === 'online');
    expect(back.status === 'online' && back.session.accountId).toBe('alice');
    await drained;
    await expect(transport.request(ClientEvent.SESSION_INFO, {})).resolves.toMatchObject({ accountId: 'alice' });
    expect(errors).toEqual([]);
    expect(states.some((s) => s.status === 'failed' || s.status === 'offline' && s.reason === 'network')).toBe(false);
    expect(await metric(b, /convsync_connections_total (\d+)/)).toBe(1);
  });

  it('a malformed session:move is reported and ignored', () => {
    expect(MAX_RECONNECT_IN_MS).toBeGreaterThan(0);
    const errors: unknown[] = [];
    const transport = new SocketIoTransport({ urls: ['http://127.0.0.1:1'], token: 't', deviceId: 'd1', onError: (e) => errors.push(e) });
    (transport as unknown as { moveRequested(raw: unknown): void }).moveRequested({ reconnectInMs: -5 });
    transport.close();
    expect(errors).toMatchObject([{ code: ErrorCode.PROTOCOL_MISMATCH }]);
  });

  it('the outbox delivers every message exactly once through a tight account limit', async () => {
    const srv = await server({ limits: { eventsPerAccount: { points: 3, durationSeconds: 1 } } });
    const harness: ServiceHarness = await openServices({ accountId: 'alice', server: srv });
    cleanups.push(() => harness.close());
    const sent: Message[] = [];
    harness.messageService.on('onSendMessage', (m) => { if (m.sendingState === 'succeeded') sent.push(m); });
    for (let i = 0; i < 8; i++) await harness.messageService.sendMessage('alice|1|bob', { text: `m${i}` });
    harness.transport.connect();
    await eventually(async () => (await harness.ctx.replica.outbox.count().exec()) === 0, 20_000);
    expect(await metric(srv, /convsync_rate_limited_total\{scope="account"\} (\d+)/)).toBeGreaterThan(0);
    const reader = await srv.connectInProcess(await srv.issueToken('bob'));
    cleanups.push(() => reader.close());
    const texts = async (): Promise<string[]> => {
      const answer = await reader.request(ClientEvent.MESSAGE_LIST, { conversationId: 'bob|1|alice', limit: 100 }) as Answer<MessageListResponse>;
      return answer.ok ? answer.messages.map((m) => m.text).sort() : [];
    };
    await eventually(async () => (await texts()).length === 8, 10_000);
    expect(await texts()).toEqual(Array.from({ length: 8 }, (_, i) => `m${i}`));
    expect(new Set(sent.map((m) => m.messageClientId)).size).toBe(8);
  });
});

describe('backoff', () => {
  it('reconnect delays are full jitter: uniform up to a ceiling that doubles to the cap', () => {
    expect(defaultRetryDelay(1, () => 0)).toBe(0);
    expect(defaultRetryDelay(1, () => 0.999_999)).toBe(BASE_RETRY_DELAY_MS);
    expect(defaultRetryDelay(3, () => 0.5)).toBe(BASE_RETRY_DELAY_MS * 2);
    expect(defaultRetryDelay(50, () => 0.999_999)).toBe(MAX_RETRY_DELAY_MS);
    const draws = Array.from({ length: 200 }, () => defaultRetryDelay(4));
    expect(Math.min(...draws)).toBeLessThan(BASE_RETRY_DELAY_MS * 8 * 0.25);
    expect(Math.max(...draws)).toBeGreaterThan(BASE_RETRY_DELAY_MS * 8 * 0.75);
  });

  it('the hold-off gives up after its attempts and passes the 416 on; other errors pass at once', async () => {
    let now = 0;
    const holdOff = new HoldOff({ now: () => now, random: () => 0 });
    let calls = 0;
    const timedOut = new ConvSyncError(ErrorCode.TIMEOUT, 'no answer');
    await expect(holdOff.run(() => { calls++; return Promise.reject(timedOut); })).rejects.toBe(timedOut);
    expect(calls).toBe(1);
    calls = 0;
    const limited = new ConvSyncError(ErrorCode.RATE_LIMITED, 'limited', { detail: { retryAfterMs: 0 } });
    await expect(holdOff.run(() => { calls++; now += 1; return Promise.reject(limited); }, 3)).rejects.toBe(limited);
    expect(calls).toBe(3);
  });
});
