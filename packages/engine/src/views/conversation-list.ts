/**
 * The ordered conversation list (pinned first, then newest first) as ascending `rank` queries
 * (docs/ARCHITECTURE.md "The list order key": Dexie only uses an index for ascending sorts), pages by cursor, and the
 * live `conversationList$` pipeline.
 *
 * Paging: the seed's `offset` is the last item's `sortOrder`, which alone cannot tell a pinned
 * from an unpinned item. The book of issued cursors maps it back to the exact (rank, id) position;
 * an unknown cursor falls back to the conversation with that sort order (unique per account on the
 * server), else to the unpinned position. A page continues strictly after that position, so pages
 * never repeat or skip a conversation that stays in place.
 */
import { combineLatest, distinctUntilChanged, filter, map, type Observable } from 'rxjs';
import type { MangoQuerySelector } from 'rxdb';
import { conversationRank, jsonEqual, type ConversationDoc } from '@convsync/protocol';
import type { ConversationCollection } from '../replica/types.js';
import type { Conversation } from '../services/types.js';
import { toConversation } from './conversation-object.js';
import { matchesOption, type NormalOption } from './filter.js';
import { atOrBefore, type ConversationMirror, type MirrorView } from './conversation-mirror.js';
import type { LocalState } from './local-state.js';

/** A position in the list: after this rank (and, on equal rank, after this id). */
export interface Cursor {
  readonly rank: number;
  readonly conversationId?: string;
}

const SORT = [{ rank: 'asc' as const }, { conversationId: 'asc' as const }];
const MAX_CURSORS = 1000;

function selectorOf(option: NormalOption, fromRank?: number): MangoQuerySelector<ConversationDoc> {
  const selector: Record<string, unknown> = {};
  if (fromRank !== undefined) selector['rank'] = { $gte: fromRank };
  if (option.conversationTypes !== null) selector['type'] = { $in: [...option.conversationTypes] };
  if (option.onlyUnread) selector['unreadCount'] = { $gt: 0 };
  return selector as MangoQuerySelector<ConversationDoc>;
}

function isAfter(doc: ConversationDoc, cursor: Cursor | null): boolean {
  if (cursor === null) return true;
  if (doc.rank !== cursor.rank) return doc.rank > cursor.rank;
  return cursor.conversationId !== undefined && doc.conversationId > cursor.conversationId;
}

/** The issued page cursors (sortOrder → exact position), most recent first out when full. */
export class CursorBook {
  readonly #cursors = new Map<number, Cursor>();

  issue(doc: Pick<ConversationDoc, 'sortOrder' | 'rank' | 'conversationId'>): number {
    this.#cursors.delete(doc.sortOrder);
    this.#cursors.set(doc.sortOrder, { rank: doc.rank, conversationId: doc.conversationId });
    if (this.#cursors.size > MAX_CURSORS) {
      const oldest = this.#cursors.keys().next();
      if (oldest.done !== true) this.#cursors.delete(oldest.value);
    }
    return doc.sortOrder;
  }

  async resolve(collection: ConversationCollection, offset: number): Promise<Cursor | null> {
    if (offset === 0) return null;
    const issued = this.#cursors.get(offset);
    if (issued !== undefined) return issued;
    const found = await collection.findOne({ selector: { sortOrder: offset } }).exec();
    if (found !== null) return { rank: found.rank, conversationId: found.conversationId };
    return { rank: conversationRank(false, offset) };
  }
}

/**
 * Up to `limit + 1` documents after `cursor` that match `option`, in list order (the extra one
 * tells whether the list goes on).
 */
export async function docsAfter(
  collection: ConversationCollection,
  options: { cursor: Cursor | null; limit: number; option: NormalOption },
): Promise<ConversationDoc[]> {
  const wanted = options.limit + 1;
  const out: ConversationDoc[] = [];
  let cursor = options.cursor;
  let chunk = Math.max(wanted, 50);
  for (;;) {
    const docs = await collection.find({
      selector: selectorOf(options.option, cursor?.rank),
      sort: SORT,
      limit: chunk,
    }).exec();
    let progressed = false;
    for (const rx of docs) {
      const doc = rx._data as ConversationDoc;
      if (!isAfter(doc, cursor)) continue;
      progressed = true;
      if (matchesOption(options.option, doc)) out.push(doc);
      if (out.length >= wanted) return out;
    }
    const last = docs[docs.length - 1];
    if (docs.length < chunk || last === undefined) return out;
    if (!progressed) {
      // Every document of the chunk shares the cursor's rank: widen instead of looping.
      chunk *= 4;
      continue;
    }
    cursor = { rank: last.rank, conversationId: last.conversationId };
    chunk = Math.min(chunk * 2, 2000);
  }
}

/** All visible documents matching `option`, in list order. */
export async function allDocs(collection: ConversationCollection, option: NormalOption): Promise<ConversationDoc[]> {
  const docs = await collection.find({ selector: selectorOf(option), sort: SORT }).exec();
  return docs.map((d) => d._data as ConversationDoc).filter((d) => matchesOption(option, d));
}

/** A conversation where the list shows it: its own rank, or its pending message's. */
interface Placed {
  readonly doc: ConversationDoc;
  readonly rank: number;
}

/**
 * A conversation with a message waiting in the outbox sorts as if that message were its last
 * (display only: the server's sort order arrives with the delivered message).
 */
function placedInOrder(docs: readonly ConversationDoc[], local: LocalState): { placed: Placed[]; moved: boolean } {
  let moved = false;
  const placed = docs.map((doc): Placed => {
    const pending = local.newestPendingTime(doc.conversationId);
    if (pending === undefined || pending <= doc.sortOrder) return { doc, rank: doc.rank };
    moved = true;
    return { doc, rank: conversationRank(doc.stickTop, pending) };
  });
  if (moved) placed.sort((a, b) => a.rank - b.rank || (a.doc.conversationId < b.doc.conversationId ? -1 : 1));
  return { placed, moved };
}

/**
 * The documents `option` lists, in list order — or null while the mirror cannot tell them yet.
 *
 * While the mirror holds only the top of the list (`through` set), the answer is the part of the
 * list up to `through`: every conversation placed there by its own rank is held, and one moved
 * there by a pending message is placed once the mirror knows it (asked for here; the mirror
 * publishes again when it has it). An empty top says nothing about the list (a filter may match
 * only further down), so it waits for the whole list instead.
 */
function listedDocs(view: MirrorView, mirror: ConversationMirror, local: LocalState, option: NormalOption): ConversationDoc[] | null {
  const matching = view.docs.filter((doc) => matchesOption(option, doc));
  const through = view.through;
  if (through === null) {
    const { placed, moved } = placedInOrder(matching, local);
    return moved ? placed.map((entry) => entry.doc) : matching;
  }
  const unknown = local.pendingConversationIds().filter((id) => !mirror.knows(id));
  if (unknown.length > 0) {
    mirror.include(unknown);
    return null;
  }
  const top = placedInOrder(matching, local).placed
    .filter((entry) => atOrBefore(entry.rank, entry.doc.conversationId, through))
    .map((entry) => entry.doc);
  return top.length > 0 ? top : null;
}

/**
 * The live ordered list: current value on subscribe, then on every change, never twice the same.
 * On a cold start of a large replica the first value may be the top of the list only (the first
 * page, in order), followed by the whole list once it is read (see ConversationMirror).
 */
export function conversationList$(
  mirror: ConversationMirror,
  local: LocalState,
  option: NormalOption,
): Observable<Conversation[]> {
  return combineLatest([mirror.view$, local.version$]).pipe(
    map(([view]) => listedDocs(view, mirror, local, option)),
    filter((docs): docs is ConversationDoc[] => docs !== null),
    map((docs) => docs.map((doc) => toConversation(doc, local.join(doc)))),
    distinctUntilChanged((a, b) => jsonEqual(a, b)),
  );
}

/** One conversation, or null while absent or deleted. */
export function conversation$(
  collection: ConversationCollection,
  local: LocalState,
  conversationId: string,
): Observable<Conversation | null> {
  return combineLatest([collection.findOne(conversationId).$, local.version$]).pipe(
    map(([rx]) => {
      if (rx === null) return null;
      const doc = rx._data as ConversationDoc;
      return doc._deleted ? null : toConversation(doc, local.join(doc));
    }),
    distinctUntilChanged((a, b) => jsonEqual(a, b)),
  );
}
