/**
 * `conversationService` (docs/API.md "conversationService"): every call of the seed over the local replica. Writes go
 * through the edit helpers (stamp + normalize + write), so they work offline and replicate later;
 * reads come from the replica and the incremental views.
 */
import { defer, distinctUntilChanged, from, skip, switchMap, Observable as RxObservable, type Observable, type Subscription } from 'rxjs';
import { ConvSyncError, ErrorCode, Limits, conversationRank, type ConversationDoc, type ConversationType } from '@convsync/protocol';
import { applyEdits, applyEditsNow, exclusive, readWithDeleted, type Edit, type EditResult } from '../edits/write.js';
import {
  createEdit,
  deleteEdit,
  markReadEdit,
  muteEdit,
  notFound,
  readTimeOf,
  requireVisible,
  serverExtensionEdit,
  stickTopEdit,
} from '../edits/conversation.js';
import { conversation$, conversationList$, CursorBook, docsAfter } from '../views/conversation-list.js';
import { parseFilter, parseOption, publicFilter, filterKey, type NormalFilter, type NormalOption } from '../views/filter.js';
import { call, chunks, present, type ServiceCore } from './core.js';
import type {
  Conversation,
  ConversationFilter,
  ConversationListeners,
  ConversationOperationResult,
  ConversationOption,
  ConversationResult,
} from './types.js';
import {
  checkBoolean,
  checkConversationId,
  checkConversationIds,
  checkGroupId,
  checkLimit,
  checkOffset,
  checkServerExtension,
  checkTypes,
} from './validate.js';
import { groupNotFound } from '../edits/group.js';

/**
 * Pinned conversations rank below this (rank = pinned ? … : SPAN + …): an index range, so counting
 * them is an index count (Dexie refuses a count() it cannot answer from an index).
 */
const PINNED_BELOW = conversationRank(false, Number.MAX_SAFE_INTEGER);

/** Rows per local write when a call touches many conversations (clear all unread, …). */
const WRITE_CHUNK = 500;

/**
 * The conversation service of the public API (docs/API.md "conversationService"). Every call works offline on the
 * device's replica and replicates later; calls reject with a ConvSyncError (docs/API.md "Errors and error codes").
 *
 * @example
 * ```ts
 * const cs = engine.conversationService;
 * cs.on('onTotalUnreadCountChanged', (count) => setBadge(count));
 * let offset = 0;
 * for (;;) {
 *   const page = await cs.getConversationList(offset, 50); // pinned first, then newest first
 *   render(page.conversationList);
 *   if (page.finished) break;
 *   offset = page.offset; // a cursor: pages never repeat or skip
 * }
 * await cs.markConversationRead('alice|1|bob');
 * cs.conversationList$({ onlyUnread: true }).subscribe(renderUnread);
 * ```
 */
export interface ConversationService {
  /** Adds a listener; the function returned removes that listener. */
  on<K extends keyof ConversationListeners>(event: K, listener: ConversationListeners[K]): () => void;
  /** Removes one listener, or every listener of `event` when `listener` is absent. */
  off<K extends keyof ConversationListeners>(event: K, listener?: ConversationListeners[K]): void;
  /** Removes every listener of `event`, or every listener of this service when `event` is absent. */
  removeAllListeners(event?: keyof ConversationListeners): void;
  subscribeUnreadCountByFilter(filter: ConversationFilter): void;
  unsubscribeUnreadCountByFilter(filter: ConversationFilter): void;
  createConversation(conversationId: string): Promise<Conversation>;
  getConversationList(offset: number, limit: number): Promise<ConversationResult>;
  getConversation(conversationId: string): Promise<Conversation>;
  getConversationListByOption(offset: number, limit: number, option: ConversationOption): Promise<ConversationResult>;
  getConversationListByIds(conversationIds: string[]): Promise<Conversation[]>;
  updateConversation(conversationId: string, updateInfo: { serverExtension: string }): Promise<void>;
  updateConversationLocalExtension(conversationId: string, localExtension: string): Promise<void>;
  deleteConversation(conversationId: string, clearMessage?: boolean): Promise<void>;
  deleteConversationListByIds(conversationIds: string[], clearMessage?: boolean): Promise<ConversationOperationResult[]>;
  /** Synchronous: the incremental total. */
  getTotalUnreadCount(): number;
  getUnreadCountByIds(conversationIds: string[]): Promise<number>;
  getUnreadCountByFilter(filter: ConversationFilter): Promise<number>;
  clearTotalUnreadCount(): Promise<void>;
  clearUnreadCountByIds(conversationIds: string[]): Promise<ConversationOperationResult[]>;
  clearUnreadCountByGroupId(groupId: string): Promise<void>;
  clearUnreadCountByTypes(types: ConversationType[]): Promise<void>;
  /** Returns the read time set (the newest message time the device knows). */
  markConversationRead(conversationId: string): Promise<number>;
  getConversationReadTime(conversationId: string): Promise<number>;
  stickTopConversation(conversationId: string, stickTop: boolean): Promise<void>;
  getStickTopConversationList(): Promise<Conversation[]>;
  muteConversation(conversationId: string, mute: boolean): Promise<void>;
  /** The ordered list (as `getConversationListByOption`), live. */
  conversationList$(option?: ConversationOption): Observable<Conversation[]>;
  readonly totalUnreadCount$: Observable<number>;
  unreadCountByFilter$(filter: ConversationFilter): Observable<number>;
  /** One conversation, or null while absent or deleted. */
  conversation$(conversationId: string): Observable<Conversation | null>;
}

function failures(result: EditResult<ConversationDoc>): ConversationOperationResult[] {
  return [...result.failed].map(([conversationId, error]) => ({ conversationId, error }));
}

/** For "mark whatever is unread" calls: a conversation deleted meanwhile is not a failure. */
function throwUnexpected(result: EditResult<ConversationDoc>): void {
  for (const error of result.failed.values()) if (error.code !== ErrorCode.CONVERSATION_NOT_FOUND) throw error;
}

function throwFirst(result: EditResult<ConversationDoc>): void {
  const first = result.failed.values().next();
  if (first.done !== true) throw first.value;
}

export function createConversationService(core: ServiceCore): ConversationService & { dispose(): void } {
  const { ctx, index, local } = core;
  const conversations = ctx.replica.conversations;
  const accountId = ctx.accountId;
  const clock = ctx.clock;
  const cursors = new CursorBook();
  const filterSubscriptions = new Map<string, { filter: NormalFilter; subscription: Subscription }>();

  async function edit(ids: string[], fn: Edit<ConversationDoc>): Promise<EditResult<ConversationDoc>> {
    const merged: EditResult<ConversationDoc> = { docs: new Map(), failed: new Map(), written: new Set() };
    for (const slice of chunks(ids, WRITE_CHUNK)) {
      const result = await applyEdits(conversations, slice, fn);
      for (const [k, v] of result.docs) merged.docs.set(k, v);
      for (const [k, v] of result.failed) merged.failed.set(k, v);
      for (const k of result.written) merged.written.add(k);
    }
    return merged;
  }

  async function visibleDoc(conversationId: string): Promise<ConversationDoc> {
    const found = await conversations.findOne(conversationId).exec();
    if (found === null) throw notFound(conversationId);
    return found._data;
  }

  async function page(offset: number, limit: number, option: NormalOption): Promise<ConversationResult> {
    const cursor = await cursors.resolve(conversations, offset);
    const docs = await docsAfter(conversations, { cursor, limit, option });
    const pageDocs = docs.slice(0, limit);
    const finished = docs.length <= limit;
    const last = pageDocs[pageDocs.length - 1];
    return {
      offset: finished || last === undefined ? 0 : cursors.issue(last),
      finished,
      conversationList: pageDocs.map((doc) => present(core, doc)),
    };
  }

  async function markRead(ids: string[]): Promise<EditResult<ConversationDoc>> {
    return edit(ids, markReadEdit(clock));
  }

  function unreadIds(predicate: (facts: { type: ConversationType; groupIds: readonly string[]; unreadCount: number }) => boolean): string[] {
    const ids: string[] = [];
    for (const [id, facts] of index.visible()) if (facts.unreadCount > 0 && predicate(facts)) ids.push(id);
    return ids;
  }

  const service: ConversationService & { dispose(): void } = {
    on: (event, listener) => core.conversationEvents.on(event, listener),
    off: (event, listener) => core.conversationEvents.off(event, listener),
    removeAllListeners: (event) => core.conversationEvents.removeAllListeners(event),

    subscribeUnreadCountByFilter(input) {
      const filter = parseFilter(input);
      const key = filterKey(filter);
      if (filterSubscriptions.has(key)) return;
      const count$ = index.acquire(filter);
      const subscription = count$.pipe(distinctUntilChanged(), skip(1)).subscribe((count) => {
        core.conversationEvents.emit('onUnreadCountChangedByFilter', publicFilter(filter), count);
      });
      subscription.add(() => index.release(filter));
      filterSubscriptions.set(key, { filter, subscription });
    },

    unsubscribeUnreadCountByFilter(input) {
      const key = filterKey(parseFilter(input));
      filterSubscriptions.get(key)?.subscription.unsubscribe();
      filterSubscriptions.delete(key);
    },

    createConversation: (conversationId) => call(core, async () => {
      const id = checkConversationId(accountId, conversationId);
      const result = await applyEdits(conversations, [id], createEdit(clock, id));
      throwFirst(result);
      const doc = result.docs.get(id);
      if (doc === undefined) throw notFound(id);
      return present(core, doc);
    }),

    getConversationList: (offset, limit) => call(core, () =>
      page(checkOffset(offset), checkLimit(limit), parseOption({}))),

    getConversation: (conversationId) => call(core, async () =>
      present(core, await visibleDoc(checkConversationId(accountId, conversationId)))),

    getConversationListByOption: (offset, limit, option) => call(core, () =>
      page(checkOffset(offset), checkLimit(limit), parseOption(option))),

    getConversationListByIds: (conversationIds) => call(core, async () => {
      const ids = checkConversationIds(accountId, conversationIds);
      const found = await conversations.findByIds(ids).exec();
      return [...found.values()]
        .map((rx) => rx._data as ConversationDoc)
        .filter((doc) => !doc._deleted)
        .sort((a, b) => a.rank - b.rank || (a.conversationId < b.conversationId ? -1 : 1))
        .map((doc) => present(core, doc));
    }),

    updateConversation: (conversationId, updateInfo) => call(core, async () => {
      const id = checkConversationId(accountId, conversationId);
      if (typeof updateInfo !== 'object' || updateInfo === null) throw new ConvSyncError(ErrorCode.INVALID_PARAMETER, 'updateInfo must be an object');
      const serverExtension = checkServerExtension(updateInfo.serverExtension);
      throwFirst(await applyEdits(conversations, [id], serverExtensionEdit(clock, serverExtension)));
    }),

    updateConversationLocalExtension: (conversationId, localExtension) => call(core, async () => {
      const id = checkConversationId(accountId, conversationId);
      if (typeof localExtension !== 'string') throw new ConvSyncError(ErrorCode.INVALID_PARAMETER, 'localExtension must be a string');
      await visibleDoc(id);
      await ctx.replica.localExtensions.upsert({ conversationId: id, localExtension });
    }),

    deleteConversation: (conversationId, clearMessage = false) => call(core, async () => {
      const id = checkConversationId(accountId, conversationId);
      throwFirst(await applyEdits(conversations, [id], deleteEdit(clock, checkBoolean(clearMessage, 'clearMessage'))));
    }),

    deleteConversationListByIds: (conversationIds, clearMessage = false) => call(core, async () => {
      const ids = checkConversationIds(accountId, conversationIds);
      return failures(await edit(ids, deleteEdit(clock, checkBoolean(clearMessage, 'clearMessage'))));
    }),

    getTotalUnreadCount: () => index.total,

    getUnreadCountByIds: (conversationIds) => call(core, async () => {
      const ids = checkConversationIds(accountId, conversationIds);
      await core.ready;
      return index.sumOf(ids);
    }),

    getUnreadCountByFilter: (filter) => call(core, async () => {
      const normal = parseFilter(filter);
      await core.ready;
      return index.countOf(normal);
    }),

    clearTotalUnreadCount: () => call(core, async () => {
      await core.ready;
      throwUnexpected(await markRead(unreadIds(() => true)));
    }),

    clearUnreadCountByIds: (conversationIds) => call(core, async () => {
      const ids = checkConversationIds(accountId, conversationIds);
      return failures(await markRead(ids));
    }),

    clearUnreadCountByGroupId: (groupId) => call(core, async () => {
      const id = checkGroupId(groupId);
      const group = await ctx.replica.groups.findOne(id).exec();
      if (group === null) throw groupNotFound(id);
      await core.ready;
      throwUnexpected(await markRead(unreadIds((facts) => facts.groupIds.includes(id))));
    }),

    clearUnreadCountByTypes: (types) => call(core, async () => {
      const wanted = checkTypes(types);
      await core.ready;
      throwUnexpected(await markRead(unreadIds((facts) => wanted.includes(facts.type))));
    }),

    markConversationRead: (conversationId) => call(core, async () => {
      const id = checkConversationId(accountId, conversationId);
      const result = await markRead([id]);
      throwFirst(result);
      const doc = result.docs.get(id);
      if (doc === undefined) throw notFound(id);
      return readTimeOf(doc);
    }),

    getConversationReadTime: (conversationId) => call(core, async () =>
      (await visibleDoc(checkConversationId(accountId, conversationId))).lastReadTime),

    stickTopConversation: (conversationId, stickTop) => call(core, async () => {
      const id = checkConversationId(accountId, conversationId);
      const pin = checkBoolean(stickTop, 'stickTop');
      await exclusive(conversations, async () => {
        if (pin) {
          const doc = requireVisible((await readWithDeleted(conversations, [id])).get(id), id);
          if (!doc.stickTop) {
            const pinned = await conversations.count({ selector: { rank: { $lt: PINNED_BELOW } } }).exec();
            if (pinned >= Limits.MAX_PINNED) {
              throw new ConvSyncError(ErrorCode.TOO_MANY_PINNED, `at most ${Limits.MAX_PINNED} pinned conversations`, { detail: { conversationId: id } });
            }
          }
        }
        throwFirst(await applyEditsNow(conversations, [id], stickTopEdit(clock, pin)));
      });
    }),

    getStickTopConversationList: () => call(core, async () => {
      const docs = await conversations.find({ selector: { rank: { $lt: PINNED_BELOW } }, sort: [{ rank: 'asc' }, { conversationId: 'asc' }] }).exec();
      return docs.map((rx) => present(core, rx._data as ConversationDoc));
    }),

    muteConversation: (conversationId, mute) => call(core, async () => {
      const id = checkConversationId(accountId, conversationId);
      throwFirst(await applyEdits(conversations, [id], muteEdit(clock, checkBoolean(mute, 'mute'))));
    }),

    conversationList$(option) {
      const normal = parseOption(option);
      return conversationList$(core.mirror, local, normal);
    },

    totalUnreadCount$: defer(() => from(core.ready)).pipe(switchMap(() => index.total$)),

    unreadCountByFilter$(input) {
      const filter = parseFilter(input);
      return defer(() => from(core.ready)).pipe(switchMap(() => new RxObservable<number>((subscriber) => {
        const count$ = index.acquire(filter);
        const subscription = count$.pipe(distinctUntilChanged()).subscribe(subscriber);
        return () => {
          subscription.unsubscribe();
          index.release(filter);
        };
      })));
    },

    conversation$(conversationId) {
      return conversation$(conversations, local, checkConversationId(accountId, conversationId));
    },

    dispose() {
      for (const { subscription } of filterSubscriptions.values()) subscription.unsubscribe();
      filterSubscriptions.clear();
    },
  };
  return service;
}
