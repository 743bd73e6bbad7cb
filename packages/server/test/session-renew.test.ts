/**
 * `session:renew`: a session swaps its token without reconnecting. The server clock is injected,
 * so "after the old token expired" is a clock the test moves, not a wait; the session's expiry
 * timer (real time) never fires within these tests.
 */
import { ErrorCode, PROTOCOL_VERSION, type Answer } from '@convsync/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConvSyncServer } from '../src/index.js';
import { Client, Harness } from './helpers.js';

const HOUR = 3600;

/** The `tokenExpiresAt` of a successful answer. */
function expiryOf(answer: Answer<object>): number {
  if (!answer.ok || !('tokenExpiresAt' in answer) || typeof answer.tokenExpiresAt !== 'number') throw new Error('no tokenExpiresAt in the answer');
  return answer.tokenExpiresAt;
}

describe('session:renew', () => {
  const h = new Harness();
  afterEach(() => h.close());

  async function serverAt(): Promise<{ server: ConvSyncServer; clock: { offsetMs: number } }> {
    const clock = { offsetMs: 0 };
    const server = await h.server({ now: () => Date.now() + clock.offsetMs });
    return { server, clock };
  }

  it('an expired session is refused per request with 302; renewing it answers the new expiry and the session works again', async () => {
    const { server, clock } = await serverAt();
    const session = await server.connectInProcess(await server.issueToken('alice', { expiresInSeconds: 60 }), { deviceId: 'd1' });
    const info = await session.request('session:info', {});
    expect(info).toMatchObject({ ok: true, accountId: 'alice' });
    const oldExpiry = expiryOf(info);

    clock.offsetMs = 61_000;
    expect(await session.request('sync:pull', { collection: 'conversations', checkpoint: null, batchSize: 10 }))
      .toMatchObject({ ok: false, error: { code: ErrorCode.AUTH_FAILED } });

    const renewed = await session.request('session:renew', { token: await server.issueToken('alice', { expiresInSeconds: HOUR }) });
    expect(renewed).toMatchObject({ ok: true });
    const newExpiry = expiryOf(renewed);
    expect(newExpiry).toBeGreaterThan(oldExpiry + 60_000);
    expect(await session.request('session:info', {})).toMatchObject({ ok: true, tokenExpiresAt: newExpiry });
    expect(await session.request('sync:pull', { collection: 'conversations', checkpoint: null, batchSize: 10 })).toMatchObject({ ok: true });
    session.close();
  });

  it("refuses another account's token with 302 and leaves the session as it was", async () => {
    const { server } = await serverAt();
    const session = await server.connectInProcess(await server.issueToken('alice'));
    const before = await session.request('session:info', {});
    expect(await session.request('session:renew', { token: await server.issueToken('mallory', { expiresInSeconds: 10 * HOUR }) }))
      .toMatchObject({ ok: false, error: { code: ErrorCode.AUTH_FAILED } });
    expect(await session.request('session:info', {})).toMatchObject({
      ok: true,
      accountId: 'alice',
      tokenExpiresAt: expiryOf(before),
    });
    session.close();
  });

  it('refuses a bad token with 302 and a malformed request with 191004', async () => {
    const { server } = await serverAt();
    const session = await server.connectInProcess(await server.issueToken('alice'));
    expect(await session.request('session:renew', { token: 'not.a.jwt' })).toMatchObject({ ok: false, error: { code: ErrorCode.AUTH_FAILED } });
    expect(await session.request('session:renew', { token: await server.issueToken('alice', { expiresInSeconds: 1 }) + 'x' }))
      .toMatchObject({ ok: false, error: { code: ErrorCode.AUTH_FAILED } });
    for (const bad of [undefined, {}, { token: 42 }, { token: '' }, 'token']) {
      expect(await session.request('session:renew', bad as never)).toMatchObject({ ok: false, error: { code: ErrorCode.INVALID_PARAMETER } });
    }
    expect(await session.request('session:info', {})).toMatchObject({ ok: true, accountId: 'alice' });
    session.close();
  });

  it('renews over a socket: the answer carries the new expiry and the socket keeps its stream', async () => {
    const { server, clock } = await serverAt();
    const socket = h.rawSocket(server, { token: await server.issueToken('alice', { expiresInSeconds: 60 }), protocolVersion: PROTOCOL_VERSION });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    const client = new Client(socket, 'alice');
    clock.offsetMs = 120_000;
    expect(await client.request('session:info', {})).toMatchObject({ ok: false, error: { code: ErrorCode.AUTH_FAILED } });
    const renewed = await client.ok<{ tokenExpiresAt: number }>('session:renew', { token: await server.issueToken('alice', { expiresInSeconds: HOUR }) });
    expect(renewed.tokenExpiresAt).toBeGreaterThan(Date.now() + clock.offsetMs);
    await server.sendMessage({ from: 'bob', conversationType: 1, targetId: 'alice', text: 'still here?' });
    const deadline = Date.now() + 5000;
    while (client.streams.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(client.streams.length).toBeGreaterThan(0);
    expect(socket.connected).toBe(true);
  });
});
