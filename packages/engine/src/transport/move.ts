/**
 * `session:move` on the device's side: the message is validated like every payload from the
 * server, and the delay it names gets a little jitter of the device's own (the server already
 * spread its devices over its drain window).
 */
import * as v from 'valibot';
import { sessionMoveSchema, type SessionMove } from '@convsync/protocol';

/** Most jitter (ms) a device adds to the delay the server asked for. */
export const MOVE_JITTER_MS = 250;

/** The validated move, or null when malformed. */
export function readMove(raw: unknown): SessionMove | null {
  const parsed = v.safeParse(sessionMoveSchema, raw);
  return parsed.success ? parsed.output : null;
}

/** When (ms from now) to reconnect for `move`. */
export function moveDelay(move: SessionMove, random: () => number = Math.random): number {
  return move.reconnectInMs + Math.floor(random() * MOVE_JITTER_MS);
}
