/** Reconnect delays: 200 ms doubling to 5 s, with ±20 % jitter so devices do not reconnect in step. */
export function defaultRetryDelay(attempt: number): number {
  const base = Math.min(5000, 200 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}
