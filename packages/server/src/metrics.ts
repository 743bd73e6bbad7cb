/**
 * Operational metrics (prom-client), rendered as Prometheus text at `GET /metrics`.
 *
 * Design notes:
 * - Each server has its own `Registry`, never prom-client's global one: several servers run in
 *   one process (tests, embedders) and must not count into each other's series.
 * - The process's own metrics (CPU, memory, event-loop lag, GC) belong to the process, not to a
 *   server, and `collectDefaultMetrics` installs observers that are never removed: they are
 *   collected once per process into a shared registry, which every server's `/metrics` appends.
 * - Label values come from closed sets (the types below), so a client cannot grow the series.
 * - To add a metric: a field here, built in the constructor with `registers: [this.registry]`;
 *   every part of the server that holds `deps.metrics` can then count into it.
 */
import { ErrorCode } from '@convsync/protocol';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StoreOperation } from './store/observed.js';
import type { StoreRetryReason } from './store/store.js';

/** Why a socket handshake was refused (the `reason` label of `convsync_handshakes_refused_total`). */
export type RefusalReason = 'auth' | 'protocol' | 'invalid' | 'origin' | 'rate_limit' | 'draining' | 'internal';
export const REFUSAL_REASONS: readonly RefusalReason[] = ['auth', 'protocol', 'invalid', 'origin', 'rate_limit', 'draining', 'internal'];

/** Which limit refused a request (the `scope` label of `convsync_rate_limited_total`). */
export type RateLimitScope = 'account' | 'address' | 'handshake';
export const RATE_LIMIT_SCOPES: readonly RateLimitScope[] = ['account', 'address', 'handshake'];

/** Why the store reran a transaction (the `reason` label of `convsync_store_retries_total`). */
export const STORE_RETRY_REASONS: readonly StoreRetryReason[] = ['deadlock', 'serialization', 'duplicate_send', 'busy'];


/** Where a message came from (the `source` label of the ingest histogram). */
export type MessageSource = 'device' | 'backend';

/**
 * Request latencies from 1 ms to 10 s: a pull page or a push is a few ms on a quiet server, a team
 * message to 1,000 members a few hundred ms, and anything past seconds is an incident.
 */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The handshake's reason label for a refusal's error code. */
export function refusalReason(code: number): RefusalReason {
  switch (code) {
    case ErrorCode.AUTH_FAILED: return 'auth';
    case ErrorCode.PROTOCOL_MISMATCH: return 'protocol';
    case ErrorCode.INVALID_PARAMETER: return 'invalid';
    case ErrorCode.RATE_LIMITED: return 'rate_limit';
    default: return 'internal';
  }
}

let processRegistry: Registry | undefined;

/** The process-wide registry of the default process metrics, created on first use. */
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export class Metrics {
  /** This server's series (the process metrics are appended when rendering). */
  readonly registry = new Registry();
  readonly #process = processMetrics();

  readonly connections = new Gauge({
    name: 'convsync_connections',
    help: 'Open sessions of this process (sockets and in-process).',
    registers: [this.registry],
  });
  readonly connectionsTotal = new Counter({
    name: 'convsync_connections_total',
    help: 'Sessions opened since start.',
    registers: [this.registry],
  });
  readonly handshakeSeconds = new Histogram({
    name: 'convsync_handshake_duration_seconds',
    help: 'Socket handshake time (token verification, protocol check), by outcome.',
    labelNames: ['outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly handshakesRefused = new Counter({
    name: 'convsync_handshakes_refused_total',
    help: 'Socket handshakes refused, by reason (auth, protocol, invalid, origin, rate_limit, draining, internal).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly pullSeconds = new Histogram({
    name: 'convsync_pull_duration_seconds',
    help: 'sync:pull handling time (one page).',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly pushSeconds = new Histogram({
    name: 'convsync_push_duration_seconds',
    help: 'sync:push handling time (one batch, merge and commit).',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly messageSeconds = new Histogram({
    name: 'convsync_message_ingest_duration_seconds',
    help: 'Message ingest time (store and fan-out to every member), by source (device, backend).',
    labelNames: ['source'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly pulls = new Counter({ name: 'convsync_pulls_total', help: 'Pull requests handled.', registers: [this.registry] });
  readonly pushes = new Counter({ name: 'convsync_pushes_total', help: 'Push requests handled.', registers: [this.registry] });
  readonly messages = new Counter({ name: 'convsync_messages_total', help: 'Messages stored.', registers: [this.registry] });
  readonly rateLimited = new Counter({
    name: 'convsync_rate_limited_total',
    help: 'Requests refused by a rate limit (416), by the limit that refused (account, address, handshake).',
    labelNames: ['scope'] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'convsync_errors_total',
    help: 'Requests answered with an error, by code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly storeErrors = new Counter({
    name: 'convsync_store_errors_total',
    help: 'Store calls that failed other than by a domain refusal (database errors, a closed store), by operation.',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });
  readonly storeRetries = new Counter({
    name: 'convsync_store_retries_total',
    help: 'Transactions the store reran, by reason (deadlock, serialization, duplicate_send: PostgreSQL; busy: SQLite).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly redisPublishFailures = new Counter({
    name: 'convsync_redis_publish_failures_total',
    help: 'Redis publishes (cross-process streams) that failed; the devices concerned are nudged to resync once Redis is back.',
    registers: [this.registry],
  });

  constructor() {
    // Series of a closed label set exist from the start, so `rate()` and alerts see a 0, not a gap.
    for (const reason of REFUSAL_REASONS) this.handshakesRefused.labels(reason).inc(0);
    for (const scope of RATE_LIMIT_SCOPES) this.rateLimited.labels(scope).inc(0);
    for (const reason of STORE_RETRY_REASONS) this.storeRetries.labels(reason).inc(0);
    for (const operation of ['transaction', 'read', 'ping'] satisfies StoreOperation[]) this.storeErrors.labels(operation).inc(0);
  }

  /** A request answered with an error. */
  error(code: number): void {
    this.errors.labels(String(code)).inc();
  }

  /** Runs `fn` and records its duration in `histogram` (seconds), whether it resolves or throws. */
  async time<T>(histogram: { startTimer(): () => unknown }, fn: () => Promise<T>): Promise<T> {
    const end = histogram.startTimer();
    try {
      return await fn();
    } finally {
      end();
    }
  }

  /** The Prometheus text exposition: this server's series, then the process's. */
  async render(): Promise<string> {
    const [own, process] = await Promise.all([this.registry.metrics(), this.#process.metrics()]);
    return `${own}\n${process}`;
  }

  /** The content type of `render()`'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
