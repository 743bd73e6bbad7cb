/**
 * What the tabs of one browser profile tell each other (docs/ARCHITECTURE.md "Tabs"). Another tab
 * may run another release of the app (an upgrade opens in one tab first), so every message is
 * parsed here before anything acts on it, and one that does not parse is ignored.
 *
 * - `hello`: a tab opened and asks the leader for its state;
 * - `state`: the leader's sync state, its connection and clock offset, and whether the profile
 *   wants to be connected (the last `connect()`/`disconnect()` of any tab);
 * - `sync-event`: the leader's onSyncStarted / onSyncFinished / onSyncFailed;
 * - `want-connection`: a tab called `connect()` or `disconnect()`;
 * - `request` / `answer`: a call that needs the server (`message:list`), made in a follower and
 *   run by the leader, answered in the wire's own `{ok, …}` form;
 * - `sent`: the leader's outbox delivered (or the server refused) a message of any tab.
 */
import * as v from 'valibot';
import { ClientEvent, messageListRequestSchema, messageSchema, wireErrorSchema } from '@convsync/protocol';

const tabIdSchema = v.pipe(v.string(), v.regex(/^[a-z0-9]{1,32}$/));
const syncStateSchema = v.picklist(['offline', 'syncing', 'synced', 'error']);

export const helloSchema = v.object({ type: v.literal('hello'), from: tabIdSchema });

export const stateSchema = v.object({
  type: v.literal('state'),
  from: tabIdSchema,
  syncState: syncStateSchema,
  clockOffsetMs: v.pipe(v.number(), v.finite()),
  connectionWanted: v.boolean(),
});

export const syncEventSchema = v.object({
  type: v.literal('sync-event'),
  from: tabIdSchema,
  event: v.picklist(['started', 'finished', 'failed']),
  error: v.optional(wireErrorSchema),
});

export const wantConnectionSchema = v.object({ type: v.literal('want-connection'), from: tabIdSchema, connected: v.boolean() });

export const requestSchema = v.object({
  type: v.literal('request'),
  from: tabIdSchema,
  to: tabIdSchema,
  id: v.pipe(v.number(), v.integer(), v.minValue(0)),
  event: v.literal(ClientEvent.MESSAGE_LIST),
  payload: messageListRequestSchema,
});

export const answerSchema = v.object({
  type: v.literal('answer'),
  from: tabIdSchema,
  to: tabIdSchema,
  id: v.pipe(v.number(), v.integer(), v.minValue(0)),
  /** The wire answer (`{ok: true, …}` or `{ok: false, error}`), parsed by the event's answer schema. */
  answer: v.unknown(),
});

export const sentSchema = v.object({
  type: v.literal('sent'),
  from: tabIdSchema,
  /** A refused message has no server id yet. */
  message: v.object({ ...messageSchema.entries, messageServerId: v.string() }),
});

export const tabMessageSchema = v.variant('type', [
  helloSchema,
  stateSchema,
  syncEventSchema,
  wantConnectionSchema,
  requestSchema,
  answerSchema,
  sentSchema,
]);
export type TabMessage = v.InferOutput<typeof tabMessageSchema>;

/** The message, or null when it is not one of ours (another release, another library). */
export function readTabMessage(raw: unknown): TabMessage | null {
  const parsed = v.safeParse(tabMessageSchema, raw);
  return parsed.success ? parsed.output : null;
}
