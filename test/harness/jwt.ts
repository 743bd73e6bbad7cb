/**
 * Token forging for the security suite and for devices of a server child process (whose secret
 * the harness chose): HS256/HS512 with a secret, RS256 with a fresh key, and `alg: none`, with
 * any claims. Built on node:crypto so a forged token depends on no JWT library's opinions.
 */
import { createHmac, createSign, generateKeyPairSync } from 'node:crypto';

export interface ForgeOptions {
  /** Default HS256. `none` yields an unsigned token. */
  alg?: 'HS256' | 'HS512' | 'RS256' | 'none';
  secret?: string;
  sub?: string;
  aud?: string;
  iss?: string;
  /** Expiry in seconds since the epoch; null omits the claim. Default: one hour from `nowMs`. */
  exp?: number | null;
  nowMs?: number;
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

let rsaKey: string | undefined;
function rsaPrivateKey(): string {
  rsaKey ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return rsaKey;
}

/** A JWT with the claims the server expects unless overridden. */
export function forgeToken(options: ForgeOptions = {}): string {
  const alg = options.alg ?? 'HS256';
  const nowSeconds = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const claims: Record<string, unknown> = {
    sub: options.sub ?? 'alice',
    aud: options.aud ?? 'convsync',
    iss: options.iss ?? 'convsync',
    iat: nowSeconds,
  };
  if (options.exp !== null) claims.exp = options.exp ?? nowSeconds + 3600;
  const input = `${b64({ alg, typ: 'JWT' })}.${b64(claims)}`;
  if (alg === 'none') return `${input}.`;
  if (alg === 'RS256') return `${input}.${createSign('RSA-SHA256').update(input).sign(rsaPrivateKey()).toString('base64url')}`;
  const hash = alg === 'HS256' ? 'sha256' : 'sha512';
  return `${input}.${createHmac(hash, options.secret ?? '').update(input).digest('base64url')}`;
}
