/**
 * A lock manager with the shape of the Web Locks API (`navigator.locks.request`) for one
 * JavaScript realm, where the API is missing (Node 20): requests for one name are granted one at a
 * time in the order they came; the holder keeps the lock until its callback's promise settles; a
 * request still waiting is withdrawn by its abort signal. Only what leadership.ts uses.
 */

export interface TabLocks {
  request(name: string, options: { signal: AbortSignal }, callback: () => Promise<void>): Promise<void>;
}

interface Waiter {
  grant(): void;
}

/** Why a waiting request was withdrawn: the signal's reason, as Web Locks reject with it. */
function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('The lock request was aborted', 'AbortError');
}

/** The waiters of each name, the holder first. */
const queues = new Map<string, Waiter[]>();

function requestLock(name: string, signal: AbortSignal, callback: () => Promise<void>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(abortReason(signal));
      return;
    }
    let queue = queues.get(name);
    if (queue === undefined) {
      queue = [];
      queues.set(name, queue);
    }
    const waiters = queue;
    const withdraw = (): void => {
      const index = waiters.indexOf(waiter);
      // The holder is not withdrawn: as with Web Locks, an abort only cancels a request still waiting.
      if (index <= 0) return;
      waiters.splice(index, 1);
      reject(abortReason(signal));
    };
    const waiter: Waiter = {
      grant() {
        signal.removeEventListener('abort', withdraw);
        let held: Promise<void>;
        try {
          held = callback();
        } catch (error) {
          held = Promise.reject(error instanceof Error ? error : new Error(String(error)));
        }
        held.then(resolve, reject).finally(() => {
          waiters.shift();
          const next = waiters[0];
          if (next === undefined) queues.delete(name);
          else next.grant();
        });
      },
    };
    signal.addEventListener('abort', withdraw, { once: true });
    waiters.push(waiter);
    if (waiters.length === 1) waiter.grant();
  });
}

export const inRealmLocks: TabLocks = {
  request: (name, options, callback) => requestLock(name, options.signal, callback),
};
