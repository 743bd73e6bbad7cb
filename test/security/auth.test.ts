/**
 * Every event refuses every bad credential: no token, an expired one, `alg: none`, another
 * algorithm, a wrong audience or issuer, a wrong key. The handshake is refused with 302, no event
 * is ever answered, and no document reaches the socket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgeToken } from '../harness/jwt.js';
import type { ServerProcess } from '../harness/server-process.js';
import { NO_ACK, WireClient } from '../harness/wire-client.js';
import { EVENTS, handshake, startSeededServer, validPayload } from './fixtures.js';

describe('security: authentication', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startSeededServer();
  });
  afterAll(async () => {
    await server.dispose();
  });

  const nowS = () => Math.floor(Date.now() / 1000);
  const cases: [string, () => Record<string, unknown> | undefined][] = [
    ['no auth at all', () => undefined],
    ['no token', () => ({ protocolVersion: 1 })],
    ['an empty token', () => handshake('')],
    ['a token that is not a JWT', () => handshake('not.a.jwt')],
    ['an expired token', () => handshake(forgeToken({ secret: server.secret, sub: 'bob', exp: nowS() - 5 }))],
    ['a token without expiry', () => handshake(forgeToken({ secret: server.secret, sub: 'bob', exp: null }))],
    ['alg none', () => handshake(forgeToken({ alg: 'none', sub: 'bob' }))],
    ['HS512 with the right secret', () => handshake(forgeToken({ alg: 'HS512', secret: server.secret, sub: 'bob' }))],
    ['RS256 with an attacker key', () => handshake(forgeToken({ alg: 'RS256', sub: 'bob' }))],
    ['a wrong audience', () => handshake(forgeToken({ secret: server.secret, sub: 'bob', aud: 'another-app' }))],
    ['a wrong issuer', () => handshake(forgeToken({ secret: server.secret, sub: 'bob', iss: 'evil' }))],
    ['another secret', () => handshake(forgeToken({ secret: 'not-the-server-secret-0123456789abcdef', sub: 'bob' }))],
    ['a malformed account', () => handshake(forgeToken({ secret: server.secret, sub: 'bob|1|carol' }))],
  ];

  it.each(cases)('refuses %s on the handshake (302) and answers no event', async (_name, auth) => {
    const client = new WireClient({ url: server.url, ...(auth() === undefined ? {} : { auth: auth() as Record<string, unknown> }) });
    try {
      const outcome = await client.outcome();
      expect(outcome.connected).toBe(false);
      if (!outcome.connected) expect(outcome.data).toMatchObject({ code: 302 });
      const answers = await Promise.all(EVENTS.map((event) => client.request(event, validPayload(event, 'bob'), 300)));
      expect(answers).toEqual(EVENTS.map(() => NO_ACK));
      expect(client.streams).toEqual([]);
    } finally {
      client.close();
    }
  });

  it('a valid token is accepted (the cases above fail for their flaw alone)', async () => {
    const client = await WireClient.connect({ url: server.url, token: forgeToken({ secret: server.secret, sub: 'bob' }) });
    try {
      expect(await client.request('session:info', {})).toMatchObject({ ok: true, accountId: 'bob' });
    } finally {
      client.close();
    }
  });

  it("a token's expiry ends its socket", async () => {
    const token = forgeToken({ secret: server.secret, sub: 'bob', exp: nowS() + 2 });
    const client = await WireClient.connect({ url: server.url, token });
    try {
      const reason = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('socket still open 6 s after its token expired')), 6000);
        client.socket.once('disconnect', (r) => {
          clearTimeout(timer);
          resolve(r);
        });
      });
      expect(reason).toBe('io server disconnect');
    } finally {
      client.close();
    }
  });
});
