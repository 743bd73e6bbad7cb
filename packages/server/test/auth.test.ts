import { ClientEvent, PROTOCOL_VERSION } from '@convsync/protocol';
import { SignJWT } from 'jose';
import type { Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, localDoc } from './helpers.js';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256';
const key = (secret = SECRET) => new TextEncoder().encode(secret);
const nowSeconds = () => Math.floor(Date.now() / 1000);

function forge(options: { alg?: string; secret?: string; aud?: string; iss?: string; exp?: number | null; sub?: string } = {}) {
  let jwt = new SignJWT({})
    .setProtectedHeader({ alg: options.alg ?? 'HS256' })
    .setSubject(options.sub ?? 'alice')
    .setAudience(options.aud ?? 'convsync')
    .setIssuer(options.iss ?? 'convsync')
    .setIssuedAt();
  if (options.exp !== null) jwt = jwt.setExpirationTime(options.exp ?? nowSeconds() + 3600);
  return jwt.sign(key(options.secret));
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function connectOutcome(socket: Socket): Promise<{ connected: true } | { connected: false; data: unknown }> {
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ connected: true }));
    socket.once('connect_error', (error: Error & { data?: unknown }) => resolve({ connected: false, data: error.data }));
  });
}

describe('auth', () => {
  const h = new Harness();
  afterEach(() => h.close());

  it('accepts a token issued by the server', async () => {
    const server = await h.server({ secret: SECRET });
    const token = await server.issueToken('alice');
    expect(await connectOutcome(h.rawSocket(server, { token, protocolVersion: PROTOCOL_VERSION }))).toEqual({ connected: true });
    const forged = await forge();
    expect(await connectOutcome(h.rawSocket(server, { token: forged, protocolVersion: PROTOCOL_VERSION }))).toEqual({ connected: true });
  });

  const refused: [string, () => Promise<Record<string, unknown> | undefined>][] = [
    ['no auth at all', async () => undefined],
    ['no token', async () => ({ protocolVersion: PROTOCOL_VERSION })],
    ['an empty token', async () => ({ token: '', protocolVersion: PROTOCOL_VERSION })],
    ['garbage', async () => ({ token: 'not.a.jwt', protocolVersion: PROTOCOL_VERSION })],
    ['a bad signature', async () => ({ token: await forge({ secret: 'another-secret-another-secret-another' }), protocolVersion: PROTOCOL_VERSION })],
    ['an expired token', async () => ({ token: await forge({ exp: nowSeconds() - 60 }), protocolVersion: PROTOCOL_VERSION })],
    ['a token without exp', async () => ({ token: await forge({ exp: null }), protocolVersion: PROTOCOL_VERSION })],
    ['alg none', async () => ({
      token: `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'alice', aud: 'convsync', iss: 'convsync', exp: nowSeconds() + 3600 })}.`,
      protocolVersion: PROTOCOL_VERSION,
    })],
    ['another algorithm with the same secret (HS512)', async () => ({ token: await forge({ alg: 'HS512' }), protocolVersion: PROTOCOL_VERSION })],
    ['a wrong audience', async () => ({ token: await forge({ aud: 'someone-else' }), protocolVersion: PROTOCOL_VERSION })],
    ['a wrong issuer', async () => ({ token: await forge({ iss: 'someone-else' }), protocolVersion: PROTOCOL_VERSION })],
    ['a malformed account', async () => ({ token: await forge({ sub: 'a|b' }), protocolVersion: PROTOCOL_VERSION })],
  ];
  for (const [what, auth] of refused) {
    it(`refuses ${what} with 302`, async () => {
      const server = await h.server({ secret: SECRET });
      const outcome = await connectOutcome(h.rawSocket(server, await auth()));
      expect(outcome).toMatchObject({ connected: false, data: { code: 302 } });
      expect(typeof (outcome as { data: { desc: unknown } }).data.desc).toBe('string');
    });
  }

  it('refuses a protocol version mismatch with 192003', async () => {
    const server = await h.server({ secret: SECRET });
    const token = await server.issueToken('alice');
    const outcome = await connectOutcome(h.rawSocket(server, { token, protocolVersion: PROTOCOL_VERSION + 1 }));
    expect(outcome).toMatchObject({ connected: false, data: { code: 192003 } });
  });

  it('refuses a protocol 1 client (pushes with assumed master states) with 192003 naming both versions', async () => {
    const server = await h.server({ secret: SECRET });
    const token = await server.issueToken('alice');
    expect(PROTOCOL_VERSION).toBe(2);
    const outcome = await connectOutcome(h.rawSocket(server, { token, protocolVersion: 1 }));
    expect(outcome).toMatchObject({ connected: false, data: { code: 192003 } });
    expect(JSON.stringify(outcome)).toMatch(/server speaks 2, the client 1/);
  });

  it('closes a socket when its token expires', async () => {
    const server = await h.server({ secret: SECRET });
    const token = await server.issueToken('alice', { expiresInSeconds: 1 });
    const socket = h.rawSocket(server, { token, protocolVersion: PROTOCOL_VERSION });
    expect(await connectOutcome(socket)).toEqual({ connected: true });
    const reason = await new Promise<string>((resolve) => socket.once('disconnect', resolve));
    expect(reason).toBe('io server disconnect');
  });

  it('refuses browsers from origins outside the allowlist', async () => {
    const server = await h.server({ secret: SECRET, allowedOrigins: ['https://app.example'] });
    const token = await server.issueToken('alice');
    const refusedStatus = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: 'https://evil.example' } });
    expect(refusedStatus.status).toBe(403);
    await refusedStatus.body?.cancel();
    const allowed = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: 'https://app.example' } });
    expect(allowed.status).toBe(200);
    await allowed.text();
    expect(await connectOutcome(h.rawSocket(server, { token, protocolVersion: PROTOCOL_VERSION }))).toEqual({ connected: true });
  });

  it('a socket asking for another account\'s data gets nothing of it', async () => {
    const server = await h.server({ secret: SECRET });
    await server.createTeam({ teamId: 'bobs-team', name: 'Private', memberIds: ['bob', 'carol'] });
    await server.sendMessage({ from: 'carol', conversationType: 1, targetId: 'bob', text: 'secret p2p' });
    await server.sendMessage({ from: 'carol', conversationType: 2, targetId: 'bobs-team', text: 'secret team' });
    const mallory = await h.client(server, 'mallory');
    expect((await mallory.pullAll()).documents).toEqual([]);
    expect(await mallory.request(ClientEvent.PUSH, { collection: 'conversations', rows: [{ newDocumentState: localDoc('bob|1|carol') }] }))
      .toMatchObject({ ok: false, error: { code: 403 } });
    expect(await mallory.request(ClientEvent.MESSAGE_LIST, { conversationId: 'bob|1|carol', limit: 10 })).toMatchObject({ ok: false, error: { code: 403 } });
    expect(await mallory.request(ClientEvent.MESSAGE_LIST, { conversationId: 'mallory|2|bobs-team', limit: 10 })).toMatchObject({ ok: false, error: { code: 403 } });
    expect(await mallory.request(ClientEvent.MESSAGE_SEND, { clientMessageId: 'm', conversationId: 'mallory|2|bobs-team', text: 'let me in' }))
      .toMatchObject({ ok: false, error: { code: 403 } });
    const bob = await h.client(server, 'bob');
    const bobs = (await bob.pullAll()).documents;
    expect(bobs.map((d) => d.conversationId).sort()).toEqual(['bob|1|carol', 'bob|2|bobs-team']);
    expect(bobs.every((d) => d.unreadCount === 1)).toBe(true);
    expect(mallory.streams).toEqual([]);
  });
});
