/**
 * Tokens of the app's own identity provider, verified against its JSON Web Key Set (jose's
 * `createRemoteJWKSet` for a URL, `createLocalJWKSet` for a key set).
 *
 * What keeps this safe: the algorithm is never taken from the token alone — `ALGORITHMS` is the
 * allow-list, and jose's key sets also match a key's type to the algorithm (an `RS256` token only
 * ever meets an RSA key, and a key set never yields a secret, so `alg: HS256` with the public key
 * as the secret has nothing to verify against). `exp` and the account claim are required.
 * A URL's key set is cached; a token naming a `kid` the cache lacks fetches it again (at most once
 * per cooldown), which is how a rotated-in key is found and a removed one stops verifying.
 */
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ConvSyncError, ErrorCode, isValidId } from '@convsync/protocol';
import type { AuthOptions } from './options.js';

/** Asymmetric algorithms accepted from an identity provider (`Ed25519` is EdDSA's newer name). */
export const ALGORITHMS: readonly string[] = ['RS256', 'ES256', 'EdDSA', 'Ed25519'];

/** A verified token: the account and when it expires (ms since the epoch). */
export interface VerifiedToken {
  accountId: string;
  expiresAt: number;
}

export interface ClaimRules {
  issuer?: string | string[];
  audience?: string | string[];
  accountClaim: string;
  now: () => number;
}

/** The error of a token that does not verify (302); `reason` is for logs, never for the device. */
export function refused(reason: string, cause?: unknown): ConvSyncError {
  return new ConvSyncError(ErrorCode.AUTH_FAILED, 'authentication failed: invalid or expired token', {
    detail: { reason },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The account a verified payload names, and its expiry; 302 when the claim is missing or malformed. */
export function accountOf(payload: JWTPayload, accountClaim: string): VerifiedToken {
  const account = payload[accountClaim];
  if (!isValidId(account)) throw refused(`the ${accountClaim} claim names no valid account`);
  if (typeof payload.exp !== 'number') throw refused('no exp claim');
  return { accountId: account, expiresAt: payload.exp * 1000 };
}

/**
 * Key-set trouble that is not the token's fault — the JWKS URL unreachable, slow, or answering
 * something that is not a key set: the device should retry (500), not drop its token (302).
 */
function isKeySetUnavailable(error: unknown): boolean {
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) return true;
  if (error instanceof errors.JOSEError) return error.code === 'ERR_JOSE_GENERIC';
  return !(error instanceof ConvSyncError);
}

export interface IdentityProvider {
  verify(token: string): Promise<VerifiedToken>;
}

export function createIdentityProvider(options: AuthOptions & { jwks: NonNullable<AuthOptions['jwks']> } & ClaimRules): IdentityProvider {
  const keys: JWTVerifyGetKey = typeof options.jwks === 'string'
    ? createRemoteJWKSet(new URL(options.jwks), {
      ...(options.jwksCooldownMs === undefined ? {} : { cooldownDuration: options.jwksCooldownMs }),
      ...(options.jwksCacheMaxAgeMs === undefined ? {} : { cacheMaxAge: options.jwksCacheMaxAgeMs }),
      ...(options.jwksTimeoutMs === undefined ? {} : { timeoutDuration: options.jwksTimeoutMs }),
    })
    // jose reads only the members it knows; the set was checked by parseAuthOptions.
    : createLocalJWKSet(options.jwks);
  return {
    async verify(token) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keys, {
          algorithms: [...ALGORITHMS],
          ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
          ...(options.audience === undefined ? {} : { audience: options.audience }),
          requiredClaims: ['exp', options.accountClaim],
          currentDate: new Date(options.now()),
        }));
      } catch (error) {
        if (isKeySetUnavailable(error)) {
          throw new ConvSyncError(ErrorCode.INTERNAL, "the identity provider's key set is unavailable", { cause: error });
        }
        throw refused(error instanceof errors.JOSEError ? error.code : 'invalid token', error);
      }
      return accountOf(payload, options.accountClaim);
    },
  };
}
