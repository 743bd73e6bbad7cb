/**
 * Rate limits per account and per client address, on handshakes and on events
 * (docs/SCALING.md "Limits and how to size them").
 *
 * Design notes:
 * - A limit is kept by the account or the address, never by the socket: a client that reconnects
 *   finds its budget as it left it. With Redis the counters live there (`RateLimiterRedis`), so
 *   every process of a cluster draws on the same budget; while Redis does not answer, each process
 *   falls back on its own in-memory counters (the insurance limiter) rather than refusing everyone
 *   or letting everyone through.
 * - Loopback addresses are exempt from the per-address limits by default: a reverse proxy, a test
 *   or a local tool all arrive from 127.0.0.1, and one address for everyone would make the
 *   per-address limit a global one. Per-account limits still apply to them.
 * - Behind a reverse proxy (`trustProxy`) the client address is the last entry of X-Forwarded-For:
 *   the one the proxy itself appended. Earlier entries come from the client and are not trusted.
 * - A refusal is a 416 with `detail.retryAfterMs`, the time until the window that refused has
 *   room again: the client backs off by it. A socket is never dropped for being over a limit.
 */
import { ConvSyncError, ErrorCode } from '@convsync/protocol';
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from '../logger.js';
import type { Metrics, RateLimitScope } from '../metrics.js';

/** `points` requests per `durationSeconds` (a fixed window). */
export interface Limit {
  points: number;
  durationSeconds: number;
}

/** The limits of `startServer({ limits })`; each absent field keeps its default. */
export interface LimitsOptions {
  /** Handshakes (connects) of one account, across every process (default 60 per 10 s). */
  handshakesPerAccount?: Limit;
  /** Handshakes from one client address (default 600 per 10 s). */
  handshakesPerAddress?: Limit;
  /** Requests (events) of one account, across its devices and every process (default 1000 per 1 s). */
  eventsPerAccount?: Limit;
  /** Requests (events) from one client address (default 5000 per 1 s). */
  eventsPerAddress?: Limit;
  /** Apply the per-address limits to loopback clients too (default false: they are exempt). */
  limitLoopback?: boolean;
  /** Take the client address from X-Forwarded-For, as appended by one trusted reverse proxy. */
  trustProxy?: boolean;
}

export const DEFAULT_LIMITS: Required<LimitsOptions> = {
  handshakesPerAccount: { points: 60, durationSeconds: 10 },
  handshakesPerAddress: { points: 600, durationSeconds: 10 },
  eventsPerAccount: { points: 1000, durationSeconds: 1 },
  eventsPerAddress: { points: 5000, durationSeconds: 1 },
  limitLoopback: false,
  trustProxy: false,
};

type LimitName = 'handshakesPerAccount' | 'handshakesPerAddress' | 'eventsPerAccount' | 'eventsPerAddress';
const LIMIT_NAMES: readonly LimitName[] = ['handshakesPerAccount', 'handshakesPerAddress', 'eventsPerAccount', 'eventsPerAddress'];

/** Checks a `Limit` given from outside (the command line, an embedder): whole positive numbers. */
export function checkLimit(name: string, limit: Limit): Limit {
  if (!Number.isInteger(limit.points) || limit.points < 1 || !Number.isInteger(limit.durationSeconds) || limit.durationSeconds < 1) {
    throw new ConvSyncError(ErrorCode.INVALID_PARAMETER, `invalid limit ${name}: points and durationSeconds must be whole numbers ≥ 1`, {
      detail: { name, points: limit.points, durationSeconds: limit.durationSeconds },
    });
  }
  return limit;
}

/** Parses `points/seconds` (e.g. `600/1`), the form of the `--limit-*` flags. */
export function parseLimit(name: string, text: string): Limit {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*s?\s*$/.exec(text);
  if (match === null) throw new ConvSyncError(ErrorCode.INVALID_PARAMETER, `invalid ${name}: expected points/seconds (e.g. 600/1), got ${text}`);
  return checkLimit(name, { points: Number(match[1]), durationSeconds: Number(match[2]) });
}

/** Whether `address` is the machine itself (127.0.0.0/8, ::1, or either mapped to IPv6). */
export function isLoopback(address: string): boolean {
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  return plain === '::1' || /^127\.\d+\.\d+\.\d+$/.test(plain);
}

/** What the handshake tells of where a client is. */
export interface ClientOrigin {
  /** The TCP peer (socket.io's `handshake.address`). */
  address: string;
  headers: IncomingHttpHeaders;
}

/** The limits of one server process (shared with the others through Redis when it has one). */
export interface RateLimits {
  /** The client address the limits count by: the peer, or the proxy's X-Forwarded-For entry. */
  clientAddress(origin: ClientOrigin): string;
  /** Admits a handshake of `accountId` from `address` (undefined: in-process) or throws 416. */
  admitHandshake(accountId: string, address: string | undefined): Promise<void>;
  /** Admits one request of `accountId` from `address` or throws 416 (counted by scope). */
  admitEvent(accountId: string, address: string | undefined): Promise<void>;
  close(): Promise<void>;
}

export interface RateLimitsOptions {
  limits?: LimitsOptions;
  /** Counters in Redis, shared by every process that uses the same URL and key prefix. */
  redisUrl?: string;
  /** Key prefix in Redis (processes of one cluster share it). */
  keyPrefix?: string;
  metrics: Metrics;
  logger: Logger;
}

function limiterOf(limit: Limit, keyPrefix: string, redis: Redis | undefined): RateLimiterAbstract {
  const memory = new RateLimiterMemory({ points: limit.points, duration: limit.durationSeconds, keyPrefix });
  if (redis === undefined) return memory;
  return new RateLimiterRedis({
    storeClient: redis,
    points: limit.points,
    duration: limit.durationSeconds,
    keyPrefix,
    // Redis away: answer from this process's own counters at once instead of waiting on it.
    rejectIfRedisNotReady: true,
    insuranceLimiter: memory,
  });
}

function refusal(scope: RateLimitScope, retryAfterMs: number): ConvSyncError {
  const wait = Math.max(1, Math.ceil(retryAfterMs));
  return new ConvSyncError(ErrorCode.RATE_LIMITED, `rate limited (${scope}): retry in ${wait} ms`, { detail: { scope, retryAfterMs: wait } });
}

export async function openRateLimits(options: RateLimitsOptions): Promise<RateLimits> {
  const settings = { ...DEFAULT_LIMITS, ...options.limits };
  for (const name of LIMIT_NAMES) checkLimit(name, settings[name]);
  let redis: Redis | undefined;
  if (options.redisUrl !== undefined) {
    // Its own connection: a limiter must fail fast (no offline queue), never hold a request back.
    redis = new Redis(options.redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);
    await redis.connect();
  }
  const prefix = `${options.keyPrefix ?? 'convsync'}:limit`;
  const limiters = Object.fromEntries(LIMIT_NAMES.map((name) => [name, limiterOf(settings[name], `${prefix}:${name}`, redis)])) as Record<LimitName, RateLimiterAbstract>;
  const { metrics } = options;

  /** Consumes a point of `name` for `key`; throws the 416 of `scope` when there is none left. */
  const consume = async (name: LimitName, key: string, scope: RateLimitScope): Promise<void> => {
    try {
      await limiters[name].consume(key);
    } catch (thrown) {
      if (thrown instanceof RateLimiterRes) {
        metrics.rateLimited.labels(scope).inc();
        throw refusal(scope, thrown.msBeforeNext);
      }
      // Neither Redis nor the insurance limiter answered: let the request through rather than
      // refuse a well-behaved client for our own trouble.
      options.logger.log('warn', 'rate limiter failed: request admitted', { limit: name, error: thrown instanceof Error ? thrown.message : String(thrown) });
    }
  };
  const limitsAddress = (address: string | undefined): address is string =>
    address !== undefined && address !== '' && (settings.limitLoopback || !isLoopback(address));

  return {
    clientAddress(origin) {
      if (!settings.trustProxy) return origin.address;
      const header = origin.headers['x-forwarded-for'];
      const list = (Array.isArray(header) ? header.join(',') : header ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
      return list[list.length - 1] ?? origin.address;
    },
    async admitHandshake(accountId, address) {
      if (limitsAddress(address)) await consume('handshakesPerAddress', address, 'handshake');
      await consume('handshakesPerAccount', accountId, 'handshake');
    },
    async admitEvent(accountId, address) {
      if (limitsAddress(address)) await consume('eventsPerAddress', address, 'address');
      await consume('eventsPerAccount', accountId, 'account');
    },
    async close() {
      if (redis === undefined) return;
      await redis.quit().catch(() => undefined);
      redis.disconnect();
    },
  };
}
