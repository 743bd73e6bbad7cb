/**
 * `session:move` (server → client): the process is shutting down and asks this device to reconnect,
 * to another process, in `reconnectInMs`. The server spreads the delays of its devices over a
 * window so the processes that stay are not stampeded; the device adds a little jitter of its own
 * and reconnects without reporting an error.
 */
import * as v from 'valibot';

/** The longest move delay a client honours: a longer one is a malformed message. */
export const MAX_RECONNECT_IN_MS = 10 * 60_000;

export const sessionMoveSchema = v.object({
  reconnectInMs: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_RECONNECT_IN_MS)),
});
export type SessionMove = v.InferOutput<typeof sessionMoveSchema>;
