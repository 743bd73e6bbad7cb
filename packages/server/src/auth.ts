/**
 * Tokens (jose): HS256 JWTs signed with the server's secret — what `issueToken` makes, the
 * development default — and, with `auth.jwks`, the tokens of the app's own identity provider
 * (`auth/identity-provider.ts`). Verification picks the verifier by the token's `alg` but each
 * verifier pins its own algorithms (no `alg: none`, no algorithm confusion), requires `exp`, checks
 * audience and issuer, and takes the account from the account claim only — never from a payload.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { ConvSyncError, ErrorCode, assertValidId, invalidParameter } from '@convsync/protocol';
import { accountOf, createIdentityProvider, refused, type IdentityProvider, type VerifiedToken } from './auth/identity-provider.js';
import type { AuthOptions } from './auth/options.js';

export type { AuthOptions, JSONWebKeySet, JsonWebKey } from './auth/options.js';
export { parseAuthOptions } from './auth/options.js';
export type { VerifiedToken } from './auth/identity-provider.js';

const AUDIENCE = 'convsync';
const ISSUER = 'convsync';
const ALGORITHM = 'HS256';
/** Development tokens live a week unless asked otherwise. */
const DEFAULT_EXPIRES_IN_SECONDS = 7 * 24 * 3600;

export interface IssueTokenOptions {
  /** Lifetime in seconds (default one week). */
  expiresInSeconds?: number;
}

export interface TokenService {
  issue(accountId: string, options?: IssueTokenOptions): Promise<string>;
  /** Resolves the account of a valid token; rejects ConvSyncError 302 otherwise. */
  verify(token: unknown): Promise<VerifiedToken>;
}

/** A random secret for development servers started without one. */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

function first(value: string | string[] | undefined, fallback: string): string {
  return (Array.isArray(value) ? value[0] : value) ?? fallback;
}

export function createTokenService(options: { secret: string; now: () => number; auth?: AuthOptions }): TokenService {
  const auth = options.auth ?? {};
  const key = new TextEncoder().encode(auth.secret ?? options.secret);
  const accountClaim = auth.accountClaim ?? 'sub';
  const issuer = auth.issuer ?? ISSUER;
  const audience = auth.audience ?? AUDIENCE;
  const provider: IdentityProvider | undefined = auth.jwks === undefined ? undefined
    : createIdentityProvider({ ...auth, jwks: auth.jwks, accountClaim, now: options.now });
  const nowSeconds = (): number => Math.floor(options.now() / 1000);
  return {
    async issue(accountId, issueOptions = {}) {
      assertValidId(accountId, 'accountId');
      const lifetime = issueOptions.expiresInSeconds ?? DEFAULT_EXPIRES_IN_SECONDS;
      if (!Number.isSafeInteger(lifetime) || lifetime <= 0) {
        throw invalidParameter('expiresInSeconds must be a positive whole number of seconds', { expiresInSeconds: lifetime });
      }
      const issuedAt = nowSeconds();
      // JWT times are whole seconds: round the expiry up so a token lives at least the seconds
      // asked for; floor(now) + lifetime could leave a one-second token almost no life at all.
      const expiresAt = Math.ceil(options.now() / 1000) + lifetime;
      return new SignJWT(accountClaim === 'sub' ? {} : { [accountClaim]: accountId })
        .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
        .setSubject(accountId)
        .setAudience(first(audience, AUDIENCE))
        .setIssuer(first(issuer, ISSUER))
        .setIssuedAt(issuedAt)
        .setExpirationTime(expiresAt)
        .sign(key);
    },
    async verify(token) {
      if (typeof token !== 'string' || token.length === 0) {
        throw new ConvSyncError(ErrorCode.AUTH_FAILED, 'missing token');
      }
      let header: { alg?: unknown };
      try {
        header = decodeProtectedHeader(token);
      } catch (error) {
        throw refused('malformed token', error);
      }
      // The header only chooses which verifier looks; each one pins its own algorithms.
      if (provider !== undefined && header.alg !== ALGORITHM) return provider.verify(token);
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, key, {
          algorithms: [ALGORITHM],
          audience,
          issuer,
          requiredClaims: ['exp', accountClaim],
          currentDate: new Date(options.now()),
        }));
      } catch (error) {
        throw refused(error instanceof Error && 'code' in error ? String(error.code) : 'invalid token', error);
      }
      return accountOf(payload, accountClaim);
    },
  };
}
