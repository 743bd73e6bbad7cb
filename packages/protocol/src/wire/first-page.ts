/**
 * The first-sync page (docs/ARCHITECTURE.md "First sync"): `sync:pull` with `order: 'rank'` on
 * `conversations` and `checkpoint: null` answers the top `batchSize` conversations in list order
 * (pinned first, then newest: ascending `rank`), the log position they were read at as
 * `checkpoint`, `hasMore`, and the account's unread totals at that position as `unread`. A device
 * with no checkpoint stores and shows it, then pulls the log from the start as usual: the join
 * makes the overlap harmless. A server that predates `order` drops the field and answers the
 * ordinary first page without `unread`, so a client tells the two apart by `unread`.
 */
import * as v from 'valibot';
import { conversationTypeSchema, countSchema, idSchema } from '../documents/fields.js';
import type { ConversationType } from '../ids.js';
import { Limits } from '../limits.js';

export const PullOrder = {
  /** Change-log order from a checkpoint (the default). */
  SEQ: 'seq',
  /** List order, the first page only. */
  RANK: 'rank',
} as const;
export type PullOrder = (typeof PullOrder)[keyof typeof PullOrder];

/**
 * The unread of the account's conversations of one type and mute state: all of them (`groupId`
 * null) or those in one group. Any unread filter is a sum of cells (`unreadOfCells`).
 */
export const unreadCellSchema = v.object({
  type: conversationTypeSchema,
  muted: v.boolean(),
  groupId: v.nullable(idSchema),
  unread: countSchema,
});
export type UnreadCell = v.InferOutput<typeof unreadCellSchema>;

export const unreadTotalsSchema = v.object({
  /** The account's total unread count (the sum of the `groupId: null` cells). */
  total: countSchema,
  /** Non-zero cells only; at most types × 2 × (groups + 1). */
  cells: v.pipe(v.array(unreadCellSchema), v.maxLength(16 * 2 * (Limits.MAX_GROUPS + 1))),
});
export type UnreadTotals = v.InferOutput<typeof unreadTotalsSchema>;

export interface UnreadCellFilter {
  conversationTypes?: readonly ConversationType[] | null;
  conversationGroupId?: string | null;
  ignoreMuted?: boolean;
}

/** The unread count of a filter (as the engine's unread views count it) from the cells. */
export function unreadOfCells(cells: readonly UnreadCell[], filter: UnreadCellFilter = {}): number {
  const group = filter.conversationGroupId ?? null;
  let sum = 0;
  for (const cell of cells) {
    if (cell.groupId !== group) continue;
    if (filter.ignoreMuted === true && cell.muted) continue;
    if (filter.conversationTypes != null && !filter.conversationTypes.includes(cell.type)) continue;
    sum += cell.unread;
  }
  return sum;
}
