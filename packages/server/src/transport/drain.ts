/**
 * Draining a process for a restart without a stampede (docs/SCALING.md "Restarts and draining").
 *
 * Design notes:
 * - From the moment a drain starts, the process refuses handshakes (reason `draining`) and
 *   `/readyz` answers 503, so neither the load balancer nor a reconnecting device lands here again.
 * - Every socket is sent `session:move {reconnectInMs}` at once, with delays spread uniformly over
 *   the window: the other processes then see this process's devices arrive at a steady
 *   `devices / window` rate instead of all in the same second. A device that does not move by the
 *   end of the window (plus a grace for its in-flight requests) is disconnected by `close()`.
 * - Requests already being handled finish before the store is closed: every dispatch is tracked,
 *   and the drain waits for them (bounded) once the sockets are gone. A write whose answer was
 *   lost with its socket is retried by its device; pushes and sends are idempotent.
 */
import { ConvSyncError, ErrorCode, ServerEvent } from '@convsync/protocol';
import type { Server as SocketServer } from 'socket.io';
import type { Readiness } from '../health.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Dispatch } from './dispatcher.js';

/** Default window over which a draining process spreads its devices' moves (ms). */
export const DEFAULT_DRAIN_WINDOW_MS = 5000;
/** How long after the window a device may still finish before it is disconnected (ms; at most the window). */
const GRACE_MS = 2000;
/** The longest the drain waits for requests still being handled once the sockets are gone (ms). */
const IN_FLIGHT_TIMEOUT_MS = 10_000;

export interface DrainOptions {
  /** Window (ms) over which devices are asked to move (default 5000; 0: all at once, then close). */
  windowMs?: number;
}

export interface Drainer {
  readonly draining: boolean;
  /** `dispatch`, with every call counted as in flight until it answers. */
  track(dispatch: Dispatch): Dispatch;
  /** Refuses handshakes while draining; install with `io.use` before the session middleware. */
  gate(socket: unknown, next: (error?: Error) => void): void;
  /** Stops accepting, moves every socket over the window, waits for them and the requests in flight. */
  drain(options?: DrainOptions): Promise<void>;
}

export interface DrainerOptions {
  io: SocketServer;
  readiness: Readiness;
  metrics: Metrics;
  logger: Logger;
  /** Uniform [0, 1) source for the move delays (injected by tests). */
  random?: () => number;
}

function resolveAfter(ms: number): { promise: Promise<void>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

export function createDrainer(options: DrainerOptions): Drainer {
  const { io, readiness, metrics, logger } = options;
  const random = options.random ?? Math.random;
  const inFlight = new Set<Promise<unknown>>();
  let draining: Promise<void> | undefined;

  /** Resolves once no socket is connected to this process, or after `ms`. */
  const socketsGone = async (ms: number): Promise<void> => {
    const sockets = io.of('/').sockets;
    if (sockets.size === 0) return;
    const deadline = resolveAfter(ms);
    const empty = new Promise<void>((resolve) => {
      for (const socket of sockets.values()) {
        socket.once('disconnect', () => {
          // socket.io removes the socket from the map before 'disconnect' is emitted.
          if (sockets.size === 0) resolve();
        });
      }
    });
    await Promise.race([empty, deadline.promise]);
    deadline.cancel();
  };

  return {
    get draining() {
      return draining !== undefined;
    },
    track(dispatch) {
      return (session, event, payload) => {
        const answer = dispatch(session, event, payload);
        inFlight.add(answer);
        void answer.finally(() => inFlight.delete(answer));
        return answer;
      };
    },
    gate(_socket, next) {
      if (draining === undefined) {
        next();
        return;
      }
      metrics.handshakesRefused.labels('draining').inc();
      const error = new ConvSyncError(ErrorCode.SERVER_UNREACHABLE, 'the server is draining: connect to another');
      next(Object.assign(new Error(error.desc), { data: error.toWire() }));
    },
    drain(drainOptions = {}) {
      draining ??= (async () => {
        const windowMs = Math.max(0, Math.floor(drainOptions.windowMs ?? DEFAULT_DRAIN_WINDOW_MS));
        readiness.markDraining();
        const sockets = [...io.of('/').sockets.values()];
        logger.log('info', 'draining: asking devices to move', { sockets: sockets.length, windowMs });
        for (const socket of sockets) {
          socket.emit(ServerEvent.SESSION_MOVE, { reconnectInMs: Math.floor(random() * windowMs) });
        }
        // A zero window means "now": no grace either, as a plain close.
        await socketsGone(windowMs + Math.min(GRACE_MS, windowMs));
        const timeout = resolveAfter(IN_FLIGHT_TIMEOUT_MS);
        await Promise.race([Promise.allSettled([...inFlight]), timeout.promise]);
        timeout.cancel();
        logger.log('info', 'drained', { socketsLeft: io.of('/').sockets.size, requestsInFlight: inFlight.size });
      })();
      return draining;
    },
  };
}
