/**
 * TEST-ONLY crash injection for the fault-run harness (`test/harness`). Off unless a test passes a
 * plan to `startServer({ faults })` — an option the command line does not expose, and no
 * environment variable turns it on. The harness starts its server child through its own entry
 * script (`test/harness/server-main.ts`) to do that.
 *
 * A fault `{ point, event, nth }` makes the process SIGKILL itself at the `nth` request of `event`
 * it handles, at one of three points of that request's life:
 * - `crash-before-commit`: the domain work is done, the transaction is not committed yet;
 * - `crash-after-commit`: committed, the acknowledgement not sent;
 * - `crash-after-ack`: the acknowledgement is sent (the kill follows shortly after, so the
 *   frame leaves the process first).
 * SIGKILL, not an exception: a real crash runs no cleanup, which is exactly what the harness wants
 * to survive.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Store } from './store/store.js';
import type { Dispatch } from './transport/dispatcher.js';

export const CRASH_POINTS = ['crash-before-commit', 'crash-after-commit', 'crash-after-ack'] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

/** SIGKILL the process at `point` of the `nth` request of `event` (counted from 1). */
export interface CrashFault {
  point: CrashPoint;
  event: string;
  nth: number;
}

/** The faults a test arms (`startServer({ faults })`). */
export type FaultPlan = readonly CrashFault[];

/** Refuses a malformed plan loudly: a typo must not silently run a test without its crash. */
function validate(plan: FaultPlan): void {
  for (const fault of plan) {
    if (!(CRASH_POINTS as readonly string[]).includes(fault.point) || typeof fault.event !== 'string' || fault.event === ''
      || !Number.isInteger(fault.nth) || fault.nth < 1) {
      throw new Error(`malformed fault ${JSON.stringify(fault)}`);
    }
  }
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

/** The injector of `plan`; a no-op when it is absent or empty. */
export function faultInjector(plan: FaultPlan | undefined): FaultInjector {
  if (plan === undefined || plan.length === 0) return inert;
  validate(plan);
  const faults = [...plan];
  const counts = new Map<string, number>();
  // The point armed for the request being handled, carried into its store transaction.
  const armed = new AsyncLocalStorage<CrashPoint>();
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
      ping: () => store.ping(),
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
