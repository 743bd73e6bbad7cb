/**
 * Readiness (`GET /readyz`): the process can serve a device only while its store answers and,
 * when it has one, Redis answers on both connections (publishing and subscribing); and never while
 * it is draining for shutdown. Liveness (`/healthz`) is only "the process serves HTTP".
 *
 * Design notes:
 * - Each probe has a short timeout: a database behind a dead network does not fail a query, it
 *   never answers one, and a readiness probe that hangs is useless to a load balancer.
 * - One probe per dependency runs at a time; concurrent `/readyz` calls share it. A probe stuck on
 *   a dead connection therefore holds at most one pooled connection, however often it is asked.
 */
export type Dependency = 'store' | 'redis';

export interface ReadinessReport {
  status: 'ready' | 'unready';
  /** What did not answer in time (empty when ready, or when unready only because draining). */
  down: Dependency[];
  /** Present while the process is shutting down. */
  draining?: true;
  /** Why each dependency in `down` is down (an error message or the timeout). */
  errors?: Partial<Record<Dependency, string>>;
}

export interface ReadinessOptions {
  /** A cheap query through the store (e.g. `SELECT 1`). */
  pingStore: () => Promise<void>;
  /** Pings Redis (both connections); absent when the server runs without Redis. */
  pingRedis?: () => Promise<void>;
  /** How long each probe may take (ms). */
  timeoutMs: number;
}

export interface Readiness {
  check(): Promise<ReadinessReport>;
  /** From now on `/readyz` answers 503 `draining` (the process is shutting down). */
  markDraining(): void;
  readonly draining: boolean;
}

export const DEFAULT_READINESS_TIMEOUT_MS = 1000;

/** A probe that shares one attempt among concurrent callers. */
function singleFlight(probe: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => {
    running ??= probe().finally(() => {
      running = undefined;
    });
    return running;
  };
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function createReadiness(options: ReadinessOptions): Readiness {
  const probes: [Dependency, () => Promise<void>][] = [['store', singleFlight(options.pingStore)]];
  if (options.pingRedis !== undefined) probes.push(['redis', singleFlight(options.pingRedis)]);
  let draining = false;
  return {
    get draining() {
      return draining;
    },
    markDraining() {
      draining = true;
    },
    async check() {
      const results = await Promise.all(probes.map(async ([name, probe]): Promise<[Dependency, string | undefined]> => {
        try {
          await withTimeout(probe(), options.timeoutMs);
          return [name, undefined];
        } catch (error) {
          return [name, error instanceof Error ? error.message : String(error)];
        }
      }));
      const failed = results.filter((result): result is [Dependency, string] => result[1] !== undefined);
      if (failed.length === 0 && !draining) return { status: 'ready', down: [] };
      return {
        status: 'unready',
        down: failed.map(([name]) => name),
        ...(draining ? { draining: true as const } : {}),
        ...(failed.length === 0 ? {} : { errors: Object.fromEntries(failed) }),
      };
    },
  };
}
