/**
 * TEST-ONLY crash injection for the fault-run harness (`test/harness`). Inert unless the
 * environment variable `CONVSYNC_FAULT` is set, e.g.
 *
 *   CONVSYNC_FAULT=crash-before-commit:sync:push:3
 *
 * makes the process SIGKILL itself at the 3rd `sync:push` request it handles, at one of three
 * points of that request's life:
 * - `crash-before-commit`: the domain work is done, the transaction is not committed yet;
 * - `crash-after-commit`: committed, the acknowledgement not sent;
 * - `crash-after-ack`: the acknowledgement is sent (the kill follows shortly after, so the
 *   frame leaves the process first).
 * Several faults may be given, comma-separated. SIGKILL, not an exception: a real crash runs no
 * cleanup, which is exactly what the harness wants to survive.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Store } from './store/store.js';
import type { Dispatch } from './transport/dispatcher.js';

const POINTS = ['crash-before-commit', 'crash-after-commit', 'crash-after-ack'] as const;
type FaultPoint = (typeof POINTS)[number];

interface Fault {
  point: FaultPoint;
  event: string;
  nth: number;
}

/** Parses `point:event:n[,point:event:n…]`; malformed entries are refused loudly. */
function parseFaults(spec: string): Fault[] {
  return spec.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '').map((entry) => {
    const first = entry.indexOf(':');
    const last = entry.lastIndexOf(':');
    const point = entry.slice(0, first);
    const event = entry.slice(first + 1, last);
    const nth = Number(entry.slice(last + 1));
    if (!(POINTS as readonly string[]).includes(point) || event === '' || !Number.isInteger(nth) || nth < 1) {
      throw new Error(`CONVSYNC_FAULT: malformed entry ${JSON.stringify(entry)}`);
    }
    return { point: point as FaultPoint, event, nth };
  });
}

function crash(): void {
  process.kill(process.pid, 'SIGKILL');
}

/** Wraps the store and the dispatcher so the configured request crashes the process. */
export interface FaultInjector {
  wrapStore(store: Store): Store;
  wrapDispatch(dispatch: Dispatch): Dispatch;
}

const inert: FaultInjector = { wrapStore: (store) => store, wrapDispatch: (dispatch) => dispatch };

/** The injector `CONVSYNC_FAULT` asks for; a no-op when it is unset. */
export function faultsFromEnv(env: NodeJS.ProcessEnv = process.env): FaultInjector {
  const spec = env.CONVSYNC_FAULT;
  if (spec === undefined || spec.trim() === '') return inert;
  const faults = parseFaults(spec);
  const counts = new Map<string, number>();
  // The point armed for the request being handled, carried into its store transaction.
  const armed = new AsyncLocalStorage<FaultPoint>();
  return {
    wrapStore: (store) => ({
      transaction: (fn) => {
        const point = armed.getStore();
        if (point !== 'crash-before-commit') return store.transaction(fn);
        return store.transaction(async (tx) => {
          const result = await fn(tx);
          crash();
          return result;
        });
      },
      read: (fn) => store.read(fn),
      close: () => store.close(),
    }),
    wrapDispatch: (dispatch) => async (session, event, payload) => {
      const count = (counts.get(event) ?? 0) + 1;
      counts.set(event, count);
      const fault = faults.find((f) => f.event === event && f.nth === count);
      if (fault === undefined) return dispatch(session, event, payload);
      const answer = await armed.run(fault.point, () => dispatch(session, event, payload));
      if (fault.point === 'crash-after-commit') crash();
      if (fault.point === 'crash-after-ack') setTimeout(crash, 100);
      return answer;
    },
  };
}
