/**
 * `startServer({ auth })`: which tokens the server accepts. Checked once at start, so a typo in a
 * deployment fails the start with 191004 instead of refusing every device.
 */
import { invalidParameter } from '@convsync/protocol';

/** One JSON Web Key as a key set carries it (only the members jose reads are named). */
export interface JsonWebKey {
  kty: string;
  kid?: string;
  alg?: string;
  use?: string;
  crv?: string;
  [member: string]: unknown;
}

/** A JSON Web Key Set (RFC 7517): the public keys of an identity provider. */
export interface JSONWebKeySet {
  keys: JsonWebKey[];
}

/**
 * Tokens the server accepts: HS256 signed with `secret` (the development default, also what
 * `server.issueToken` signs), and, with `jwks`, tokens of the app's identity provider signed with
 * RS256, ES256 or EdDSA keys picked by `kid`.
 */
export interface AuthOptions {
  /** HS256 signing secret (takes precedence over the top-level `secret`); random when absent. */
  secret?: string;
  /**
   * The identity provider's public keys: a URL of its JWKS document (fetched, cached, and fetched
   * again when a token names a `kid` it does not have: key rotation), or the key set itself.
   */
  jwks?: string | JSONWebKeySet;
  /** Accepted `iss` values (default for HS256 tokens: `convsync`; for JWKS tokens: any). */
  issuer?: string | string[];
  /** Accepted `aud` values (default for HS256 tokens: `convsync`; for JWKS tokens: any). */
  audience?: string | string[];
  /** The claim that carries the account id (default `sub`). */
  accountClaim?: string;
  /** Shortest wait (ms) between two fetches of a JWKS URL (default 30 s). */
  jwksCooldownMs?: number;
  /** How long (ms) a fetched key set is used before it is fetched again (default 10 min). */
  jwksCacheMaxAgeMs?: number;
  /** How long (ms) one JWKS fetch may take (default 5 s). */
  jwksTimeoutMs?: number;
}

const KNOWN = new Set(['secret', 'jwks', 'issuer', 'audience', 'accountClaim', 'jwksCooldownMs', 'jwksCacheMaxAgeMs', 'jwksTimeoutMs']);

function isText(value: unknown, max = 2048): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= max;
}

function isOneOrMore(value: unknown): value is string | string[] {
  return isText(value) || (Array.isArray(value) && value.length > 0 && value.every((item) => isText(item)));
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function isKeySet(value: unknown): value is JSONWebKeySet {
  if (typeof value !== 'object' || value === null) return false;
  const keys = (value as { keys?: unknown }).keys;
  return Array.isArray(keys) && keys.every((key: unknown) => typeof key === 'object' && key !== null &&
    isText((key as JsonWebKey).kty) && ((key as JsonWebKey).kid === undefined || isText((key as JsonWebKey).kid)));
}

/**
 * The `auth` option, validated; refused with 191004 naming the bad field. (The server keeps no
 * schema library of its own: the protocol's wire schemas cover what comes from devices.)
 */
export function parseAuthOptions(input: unknown): AuthOptions {
  if (input === undefined) return {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalidParameter('auth must be an object');
  const record = input as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!KNOWN.has(key)) throw invalidParameter(`auth: unknown option ${key.slice(0, 100)}`, { field: key.slice(0, 100) });
  }
  const bad = (field: string, why: string): never => {
    throw invalidParameter(`auth.${field} ${why}`, { field });
  };
  if (record['secret'] !== undefined && !isText(record['secret'])) bad('secret', 'must be a non-empty string');
  const jwks = record['jwks'];
  if (jwks !== undefined && !(typeof jwks === 'string' ? isHttpUrl(jwks) : isKeySet(jwks))) {
    bad('jwks', 'must be an http(s) URL or a key set {keys: [{kty, kid?, ...}]}');
  }
  if (record['issuer'] !== undefined && !isOneOrMore(record['issuer'])) bad('issuer', 'must be a string or a non-empty list of strings');
  if (record['audience'] !== undefined && !isOneOrMore(record['audience'])) bad('audience', 'must be a string or a non-empty list of strings');
  if (record['accountClaim'] !== undefined && !isText(record['accountClaim'], 128)) bad('accountClaim', 'must be a claim name');
  for (const field of ['jwksCooldownMs', 'jwksCacheMaxAgeMs', 'jwksTimeoutMs']) {
    const value = record[field];
    if (value !== undefined && !(typeof value === 'number' && Number.isSafeInteger(value) && value >= 0)) bad(field, 'must be a whole number of ms');
  }
  return record;
}
