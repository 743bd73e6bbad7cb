/**
 * Rate limits per account and per client address, on handshakes and on events: a client that
 * reconnects keeps its spent budget, two servers sharing a Redis share the budget (each server's
 * in-memory counters are its own, so only Redis can carry it across), other accounts are not
 * slowed, and a refusal is a 416 with `detail.retryAfterMs`, never a dropped socket. Skipped when no
 * Redis answers on 127.0.0.1:6379 — except under CI (CI=true), where a missing Redis fails instead.
 */
import { randomUUID } from 'node:crypto';
import { createConnection } from 'node:net';
import { ClientEvent, ErrorCode, PROTOCOL_VERSION, type ConnectErrorData } from '@convsync/protocol';
import { io } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConvSyncServer } from '../src/index.js';
import { Harness } from './helpers.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const SECRET = 'limits-test-secret';

const redisUp = await new Promise<boolean>((resolve) => {
  const socket = createConnection({ host: '127.0.0.1', port: 6379 });
  socket.once('connect', () => { socket.destroy(); resolve(true); });
  socket.once('error', () => resolve(false));
});

/** One handshake of `accountId`: accepted (and closed at once), or the refusal's data. */
async function handshake(h: Harness, server: ConvSyncServer, accountId: string, headers: Record<string, string> = {}): Promise<'accepted' | ConnectErrorData> {
  const token = await server.issueToken(accountId);
  const socket = io(server.url, { auth: { token, protocolVersion: PROTOCOL_VERSION }, transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: headers });
  h.sockets.push(socket);
  try {
    return await new Promise((resolve) => {
      socket.once('connect', () => resolve('accepted'));
      socket.once('connect_error', (error: Error & { data?: ConnectErrorData }) => resolve(error.data ?? { code: 0, desc: error.message }));
    });
  } finally {
    socket.disconnect();
  }
}

async function metric(server: ConvSyncServer, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return Number(pattern.exec(text)?.[1] ?? Number.NaN);
}

describe('rate limits', () => {
  const h = new Harness();
  afterEach(() => h.close());

  it('an account that reconnects keeps its spent event budget; the refusal carries retryAfterMs and the socket stays', async () => {
    const server = await h.server({ limits: { eventsPerAccount: { points: 10, durationSeconds: 60 } } });
    const first = await h.client(server, 'alice');
    const before = await Promise.all(Array.from({ length: 6 }, () => first.request(ClientEvent.SESSION_INFO, {})));
    expect(before.every((a) => a.ok)).toBe(true);
    first.socket.disconnect();
    const second = await h.client(server, 'alice');
    const after = await Promise.all(Array.from({ length: 6 }, () => second.request(ClientEvent.SESSION_INFO, {})));
    expect(after.filter((a) => a.ok)).toHaveLength(4);
    const refused = after.flatMap((a) => (a.ok ? [] : [a.error]));
    expect(refused.map((e) => e.code)).toEqual([ErrorCode.RATE_LIMITED, ErrorCode.RATE_LIMITED]);
    expect(refused[0]?.detail).toMatchObject({ scope: 'account' });
    expect(refused[0]?.detail?.retryAfterMs).toBeGreaterThan(50_000);
    expect(second.socket.connected).toBe(true);
    const bob = await h.client(server, 'bob');
    expect(await bob.request(ClientEvent.SESSION_INFO, {})).toMatchObject({ ok: true });
  });

  it('per-address limits count every account of one address; loopback is exempt unless asked; X-Forwarded-For only behind a trusted proxy', async () => {
    const perAddress = { eventsPerAddress: { points: 4, durationSeconds: 60 } };
    const exempt = await h.server({ limits: perAddress });
    for (const account of ['a1', 'a2', 'a3']) {
      const client = await h.client(exempt, account);
      const answers = await Promise.all(Array.from({ length: 3 }, () => client.request(ClientEvent.SESSION_INFO, {})));
      expect(answers.every((a) => a.ok)).toBe(true);
    }

    const counted = await h.server({ limits: { ...perAddress, limitLoopback: true } });
    const answers = [];
    for (const account of ['b1', 'b2', 'b3']) {
      const client = await h.client(counted, account);
      answers.push(...(await Promise.all(Array.from({ length: 2 }, () => client.request(ClientEvent.SESSION_INFO, {})))));
    }
    expect(answers.filter((a) => a.ok)).toHaveLength(4);
    expect(answers.flatMap((a) => (a.ok ? [] : [a.error.detail?.scope]))).toEqual(['address', 'address']);
    expect(await metric(counted, /convsync_rate_limited_total\{scope="address"\} (\d+)/)).toBe(2);

    // Behind a trusted proxy, each forwarded client has its own budget (the proxy's own entry is the last).
    const proxied = await h.server({ limits: { handshakesPerAddress: { points: 2, durationSeconds: 60 }, trustProxy: true, limitLoopback: true } });
    const from = (address: string) => ({ 'x-forwarded-for': `6.6.6.6, ${address}` });
    expect(await handshake(h, proxied, 'c1', from('203.0.113.1'))).toBe('accepted');
    expect(await handshake(h, proxied, 'c2', from('203.0.113.1'))).toBe('accepted');
    expect(await handshake(h, proxied, 'c3', from('203.0.113.1'))).toMatchObject({ code: ErrorCode.RATE_LIMITED });
    expect(await handshake(h, proxied, 'c4', from('203.0.113.2'))).toBe('accepted');
    // Without trustProxy the header is ignored: every client is the TCP peer.
    const direct = await h.server({ limits: { handshakesPerAddress: { points: 2, durationSeconds: 60 }, limitLoopback: true } });
    expect(await handshake(h, direct, 'd1', from('203.0.113.1'))).toBe('accepted');
    expect(await handshake(h, direct, 'd2', from('203.0.113.2'))).toBe('accepted');
    expect(await handshake(h, direct, 'd3', from('203.0.113.3'))).toMatchObject({ code: ErrorCode.RATE_LIMITED });
  });

  it('in-process sessions draw on the same account budget', async () => {
    const server = await h.server({ limits: { eventsPerAccount: { points: 3, durationSeconds: 60 } } });
    const socket = await h.client(server, 'alice');
    expect(await socket.request(ClientEvent.SESSION_INFO, {})).toMatchObject({ ok: true });
    const endpoint = await server.connectInProcess(await server.issueToken('alice'));
    const answers = await Promise.all(Array.from({ length: 3 }, () => endpoint.request(ClientEvent.SESSION_INFO, {})));
    expect(answers.filter((a) => a.ok)).toHaveLength(2);
    endpoint.close();
  });

  it('refuses malformed limits with 191004', async () => {
    await expect(h.server({ limits: { eventsPerAccount: { points: 0, durationSeconds: 1 } } })).rejects.toMatchObject({ code: ErrorCode.INVALID_PARAMETER });
  });

  describe.skipIf(!redisUp && process.env.CI !== 'true')('shared through Redis', () => {
    it('a reconnecting flood from one account is held to its handshake and event budgets across two servers; other accounts are not slowed', async () => {
      const prefix = `limits-test-${randomUUID()}`;
      const limits = { handshakesPerAccount: { points: 5, durationSeconds: 60 }, eventsPerAccount: { points: 12, durationSeconds: 60 } };
      const a = await h.server({ redisUrl: REDIS_URL, redisChannelPrefix: prefix, secret: SECRET, limits });
      const b = await h.server({ redisUrl: REDIS_URL, redisChannelPrefix: prefix, secret: SECRET, limits });

      // Handshakes: ten reconnects alternating between the servers; five get in, in all.
      const outcomes = [];
      for (let i = 0; i < 10; i++) outcomes.push(await handshake(h, i % 2 === 0 ? a : b, 'flood'));
      expect(outcomes.filter((o) => o === 'accepted')).toHaveLength(5);
      const refusals = outcomes.filter((o): o is ConnectErrorData => o !== 'accepted');
      for (const refusal of refusals) {
        expect(refusal.code).toBe(ErrorCode.RATE_LIMITED);
        expect(refusal.detail?.retryAfterMs).toBeGreaterThan(0);
      }
      const refusedOn = async (server: ConvSyncServer) => metric(server, /convsync_handshakes_refused_total\{reason="rate_limit"\} (\d+)/);
      expect((await refusedOn(a)) + (await refusedOn(b))).toBe(5);

      // Events: the account spends its budget on one server and finds it spent on the other.
      const other = `other-${randomUUID()}`;
      const flooder = `events-${randomUUID()}`;
      const onA = await h.client(a, flooder);
      const spentOnA = await Promise.all(Array.from({ length: 8 }, () => onA.request(ClientEvent.SESSION_INFO, {})));
      expect(spentOnA.every((x) => x.ok)).toBe(true);
      onA.socket.disconnect();
      const onB = await h.client(b, flooder);
      const onBAnswers = await Promise.all(Array.from({ length: 8 }, () => onB.request(ClientEvent.SESSION_INFO, {})));
      expect(onBAnswers.filter((x) => x.ok)).toHaveLength(4);
      expect(onBAnswers.filter((x) => !x.ok && x.error.code === ErrorCode.RATE_LIMITED)).toHaveLength(4);

      // Another account on both servers is served in full.
      for (const server of [a, b]) {
        const client = await h.client(server, other);
        const answers = await Promise.all(Array.from({ length: 5 }, () => client.request(ClientEvent.SESSION_INFO, {})));
        expect(answers.every((x) => x.ok)).toBe(true);
      }
    });
  });
});
