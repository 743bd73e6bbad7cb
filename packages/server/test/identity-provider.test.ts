/**
 * The app's own identity provider: tokens signed by keys of a JWKS served on loopback HTTP (as an
 * IdP serves its `/.well-known/jwks.json`), verified through the real handshake. Every refusal is
 * a 302 in `connect_error`, and the server keeps serving afterwards (never a crash).
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode, PROTOCOL_VERSION } from '@convsync/protocol';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConvSyncServer, JSONWebKeySet } from '../src/index.js';
import { Harness } from './helpers.js';

const ISSUER = 'https://idp.example.test';
const AUDIENCE = 'chat-app';

interface SigningKey {
  alg: 'RS256' | 'ES256' | 'EdDSA';
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  publicPem: string;
}

async function signingKey(alg: SigningKey['alg'], kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519', extractable: true } : { extractable: true });
  return { alg, kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }, publicPem: await exportSPKI(publicKey) };
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

function sign(key: SigningKey, claims: { sub?: string; iss?: string; aud?: string; exp?: number; kid?: string; [claim: string]: unknown } = {}): Promise<string> {
  const { sub = 'alice', iss = ISSUER, aud = AUDIENCE, exp = nowSeconds() + 3600, kid = key.kid, ...rest } = claims;
  return new SignJWT(rest)
    .setProtectedHeader({ alg: key.alg, kid, typ: 'JWT' })
    .setSubject(sub)
    .setIssuer(iss)
    .setAudience(aud)
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(key.privateKey);
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A JWKS endpoint on loopback whose key set the test changes (rotation) and whose fetches it counts. */
class JwksEndpoint {
  keys: JWK[] = [];
  fetches = 0;
  readonly #http: HttpServer = createServer((request, response) => {
    this.fetches++;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ keys: this.keys }));
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#http.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#http.address() as AddressInfo).port}/.well-known/jwks.json`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#http.close(() => resolve()));
  }
}

type Outcome = { connected: true } | { connected: false; data: unknown };
function connectOutcome(socket: Socket): Promise<Outcome> {
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ connected: true }));
    socket.once('connect_error', (error: Error & { data?: unknown }) => resolve({ connected: false, data: error.data }));
  });
}

let rsa: SigningKey;
let ec: SigningKey;
let ed: SigningKey;
let rotated: SigningKey;
let endpoint: JwksEndpoint;
let jwksUrl: string;

beforeAll(async () => {
  [rsa, ec, ed, rotated] = await Promise.all([
    signingKey('RS256', 'rsa-1'),
    signingKey('ES256', 'ec-1'),
    signingKey('EdDSA', 'ed-1'),
    signingKey('RS256', 'rsa-2'),
  ]);
  endpoint = new JwksEndpoint();
  jwksUrl = await endpoint.listen();
});
afterAll(() => endpoint.close());

describe('the app identity provider (JWKS)', () => {
  const h = new Harness();
  afterEach(async () => {
    await h.close();
    endpoint.keys = [];
  });

  async function idpServer(overrides: Partial<{ jwks: string | JSONWebKeySet; accountClaim: string }> = {}): Promise<ConvSyncServer> {
    return h.server({
      auth: { jwks: overrides.jwks ?? jwksUrl, issuer: ISSUER, audience: AUDIENCE, jwksCooldownMs: 0, ...(overrides.accountClaim === undefined ? {} : { accountClaim: overrides.accountClaim }) },
    });
  }

  const outcome = (server: ConvSyncServer, token: string): Promise<Outcome> =>
    connectOutcome(h.rawSocket(server, { token, protocolVersion: PROTOCOL_VERSION }));

  it('accepts RS256, ES256 and EdDSA tokens from a JWKS URL, each key picked by kid, as the account in sub', async () => {
    endpoint.keys = [rsa.publicJwk, ec.publicJwk, ed.publicJwk];
    const server = await idpServer();
    for (const key of [rsa, ec, ed]) {
      expect(await outcome(server, await sign(key))).toEqual({ connected: true });
    }
    const session = await server.connectInProcess(await sign(ec, { sub: 'bob' }));
    expect(await session.request('session:info', {})).toMatchObject({ ok: true, accountId: 'bob' });
    session.close();
  });

  it('accepts a key set given as an object, and reads the account from the configured claim', async () => {
    const server = await idpServer({ jwks: { keys: [ed.publicJwk as JSONWebKeySet['keys'][number]] }, accountClaim: 'uid' });
    const session = await server.connectInProcess(await sign(ed, { sub: 'ignored-subject', uid: 'carol' }));
    expect(await session.request('session:info', {})).toMatchObject({ ok: true, accountId: 'carol' });
    session.close();
    // Without the claim there is no account: refused, never a fallback to sub.
    await expect(server.connectInProcess(await sign(ed))).rejects.toMatchObject({ code: ErrorCode.AUTH_FAILED });
  });

  it('keeps accepting the server\'s own HS256 tokens (issueToken) next to the identity provider', async () => {
    endpoint.keys = [rsa.publicJwk];
    const server = await idpServer();
    expect(await outcome(server, await server.issueToken('dave'))).toEqual({ connected: true });
  });

  const refusals: [string, () => Promise<string>][] = [
    ['an expired token', () => sign(rsa, { exp: nowSeconds() - 60 })],
    ['a wrong issuer', () => sign(rsa, { iss: 'https://evil.example.test' })],
    ['a wrong audience', () => sign(ec, { aud: 'another-app' })],
    ['an unknown kid', () => sign(rsa, { kid: 'nobody-knows-me' })],
    ['a key not in the set under a known kid', async () => sign({ ...(await signingKey('RS256', 'x')), kid: rsa.kid })],
    ['alg swapped to HS256 with the public key as the secret', () => new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', kid: rsa.kid })
      .setSubject('alice').setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime(nowSeconds() + 3600)
      .sign(new TextEncoder().encode(rsa.publicPem))],
    ['alg swapped to HS256 with the JWK as the secret', () => new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', kid: rsa.kid })
      .setSubject('alice').setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime(nowSeconds() + 3600)
      .sign(new TextEncoder().encode(JSON.stringify(rsa.publicJwk)))],
    ['alg none', async () => `${b64({ alg: 'none', kid: rsa.kid, typ: 'JWT' })}.${b64({ sub: 'alice', iss: ISSUER, aud: AUDIENCE, exp: nowSeconds() + 3600 })}.`],
    ['an ES256 signature presented as RS256', async () => {
      const [header, payload, signature] = (await sign(ec)).split('.') as [string, string, string];
      const swapped = b64({ ...JSON.parse(Buffer.from(header, 'base64url').toString()) as object, alg: 'RS256', kid: rsa.kid });
      return `${swapped}.${payload}.${signature}`;
    }],
    ['a token without exp', () => new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: rsa.kid })
      .setSubject('alice').setIssuer(ISSUER).setAudience(AUDIENCE)
      .sign(rsa.privateKey)],
    ['a malformed account', () => sign(rsa, { sub: 'a|b' })],
  ];
  for (const [what, token] of refusals) {
    it(`refuses ${what} with 302 and keeps serving`, async () => {
      endpoint.keys = [rsa.publicJwk, ec.publicJwk, ed.publicJwk];
      const server = await idpServer();
      expect(await outcome(server, await token())).toMatchObject({ connected: false, data: { code: ErrorCode.AUTH_FAILED } });
      expect(await outcome(server, await sign(rsa))).toEqual({ connected: true });
    });
  }

  it('follows key rotation: a new kid is fetched when first seen, a removed one stops verifying', async () => {
    endpoint.keys = [rsa.publicJwk];
    const server = await idpServer();
    const before = await sign(rsa);
    expect(await outcome(server, before)).toEqual({ connected: true });
    const fetchesBefore = endpoint.fetches;

    endpoint.keys = [rotated.publicJwk];
    expect(await outcome(server, await sign(rotated))).toEqual({ connected: true });
    expect(endpoint.fetches).toBeGreaterThan(fetchesBefore);
    // The refetched set no longer holds rsa-1: a token it signed is refused.
    expect(await outcome(server, before)).toMatchObject({ connected: false, data: { code: ErrorCode.AUTH_FAILED } });
  });

  it('an unreachable JWKS URL is a retryable refusal (500), not a verdict on the token', async () => {
    const down = new JwksEndpoint();
    const url = await down.listen();
    await down.close();
    const server = await idpServer({ jwks: url });
    expect(await outcome(server, await sign(rsa))).toMatchObject({ connected: false, data: { code: ErrorCode.INTERNAL } });
  });

  it('refuses malformed auth options at start with 191004', async () => {
    await expect(h.server({ auth: { jwks: 'ftp://idp.example.test/keys' } })).rejects.toMatchObject({ code: ErrorCode.INVALID_PARAMETER });
    await expect(h.server({ auth: { issuer: [] } })).rejects.toMatchObject({ code: ErrorCode.INVALID_PARAMETER });
    await expect(h.server({ auth: { jwks: { keys: [{ kid: 'no-kty' }] } } as never })).rejects.toMatchObject({ code: ErrorCode.INVALID_PARAMETER });
    await expect(h.server({ auth: { jwksUrl: jwksUrl } as never })).rejects.toMatchObject({ code: ErrorCode.INVALID_PARAMETER });
  });
});
