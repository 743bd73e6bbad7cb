/**
 * Tokens: HS256 JWTs signed with the server's secret (jose). Verification pins the algorithm (no
 * `alg: none`, no algorithm confusion), requires `exp`, checks audience and issuer, and takes the
 * account from `sub` only — never from a payload.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import { ConvSyncError, ErrorCode, assertValidId, invalidParameter, isValidId } from '@convsync/protocol';

const AUDIENCE = 'convsync';
const ISSUER = 'convsync';
const ALGORITHM = 'HS256';
/** Development tokens live a week unless asked otherwise. */
const DEFAULT_EXPIRES_IN_SECONDS = 7 * 24 * 3600;

export interface IssueTokenOptions {
  /** Lifetime in seconds (default one week). */
  expiresInSeconds?: number;
}

/** A verified token: the account and when it expires (ms since the epoch). */
export interface VerifiedToken {
  accountId: string;
  expiresAt: number;
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

export function createTokenService(options: { secret: string; now: () => number }): TokenService {
  const key = new TextEncoder().encode(options.secret);
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
      return new SignJWT({})
        .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
        .setSubject(accountId)
        .setAudience(AUDIENCE)
        .setIssuer(ISSUER)
        .setIssuedAt(issuedAt)
        .setExpirationTime(expiresAt)
        .sign(key);
    },
    async verify(token) {
      if (typeof token !== 'string' || token.length === 0) {
        throw new ConvSyncError(ErrorCode.AUTH_FAILED, 'missing token');
      }
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: [ALGORITHM],
          audience: AUDIENCE,
          issuer: ISSUER,
          requiredClaims: ['exp', 'sub'],
          currentDate: new Date(options.now()),
        });
        if (!isValidId(payload.sub) || typeof payload.exp !== 'number') throw new Error('token names no valid account');
        return { accountId: payload.sub, expiresAt: payload.exp * 1000 };
      } catch (error) {
        throw new ConvSyncError(ErrorCode.AUTH_FAILED, 'authentication failed: invalid or expired token', { cause: error });
      }
    },
  };
}
