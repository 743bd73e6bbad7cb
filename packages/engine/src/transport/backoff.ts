/** Cap of the reconnect delay (ms). */
export const MAX_RETRY_DELAY_MS = 5000;
/** Ceiling of the first reconnect delay (ms); it doubles with each failed attempt up to the cap. */
export const BASE_RETRY_DELAY_MS = 250;

/**
 * Reconnect delays with "full jitter": uniform in [0, min(cap, base · 2^(n-1))]. When a server
 * process goes away, its devices spread their reconnects over the whole interval instead of
 * arriving at the survivors in step, and a device that keeps failing waits longer each time.
 */
export function defaultRetryDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_RETRY_DELAY_MS, BASE_RETRY_DELAY_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling * random());
}
