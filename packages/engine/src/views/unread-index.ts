/**
 * Incremental unread counts (DESIGN "Unread counts"). The index mirrors, per conversation, the few
 * facts filters need (type, mute, groups, unread) and keeps the total and one count per subscribed
 * filter. Each change event (previous and new document) moves the counts by the difference of the
 * two contributions: O(1) per change and filter, never a rescan. The initial state is one pass over
 * the collection at startup (no `count()` query); events that arrive during that pass are applied
 * in revision order (`_rev` height), so neither can overwrite a newer state with an older one.
 */
import { BehaviorSubject, distinctUntilChanged, type Observable, type Subscription } from 'rxjs';
import type { RxChangeEventBulk, RxDocumentData } from 'rxdb';
import type { ConversationDoc } from '@convsync/protocol';
import type { ConversationCollection } from '../replica/types.js';
import { filterKey, matchesFilter, type FilterFacts, type NormalFilter } from './filter.js';

interface Entry extends FilterFacts {
  readonly height: number;
  readonly visible: boolean;
}

interface FilterView {
  readonly filter: NormalFilter;
  readonly count$: BehaviorSubject<number>;
  refs: number;
}

function heightOf(rev: string): number {
  const dash = rev.indexOf('-');
  return dash > 0 ? Number(rev.slice(0, dash)) : 0;
}

function entryOf(data: RxDocumentData<ConversationDoc>): Entry {
  return {
    height: heightOf(data._rev),
    visible: !data._deleted,
    type: data.type,
    mute: data.mute,
    groupIds: data.groupIds,
    unreadCount: data.unreadCount,
  };
}

function contribution(entry: Entry | undefined): number {
  return entry !== undefined && entry.visible ? entry.unreadCount : 0;
}

export class UnreadIndex {
  readonly #entries = new Map<string, Entry>();
  readonly #total = new BehaviorSubject<number>(0);
  readonly #filters = new Map<string, FilterView>();
  readonly #subscription: Subscription;
  readonly ready: Promise<void>;

  constructor(collection: ConversationCollection, onError: (error: unknown) => void) {
    let buffered: RxChangeEventBulk<ConversationDoc>[] | null = [];
    this.#subscription = collection.eventBulks$.subscribe((bulk: RxChangeEventBulk<ConversationDoc>) => {
      if (buffered !== null) buffered.push(bulk);
      else this.#applyBulk(bulk);
    });
    this.ready = collection.find().exec().then(
      (docs) => {
        for (const doc of docs) this.#put(doc.conversationId, entryOf(doc._data as RxDocumentData<ConversationDoc>), false);
        const pending = buffered ?? [];
        buffered = null;
        for (const bulk of pending) this.#applyBulk(bulk, false);
        this.#total.next(this.#recount());
        for (const view of this.#filters.values()) view.count$.next(this.#count(view.filter));
      },
      (error: unknown) => {
        buffered = null;
        onError(error);
      },
    );
  }

  /** The total unread count now (synchronous). */
  get total(): number {
    return this.#total.value;
  }

  get total$(): Observable<number> {
    return this.#total.pipe(distinctUntilChanged());
  }

  /** Visible conversations and their facts (for limit checks and ad-hoc filters). */
  *visible(): IterableIterator<[string, FilterFacts]> {
    for (const [id, entry] of this.#entries) if (entry.visible) yield [id, entry];
  }

  facts(conversationId: string): FilterFacts | undefined {
    const entry = this.#entries.get(conversationId);
    return entry?.visible === true ? entry : undefined;
  }

  /** Sum over `ids` (absent or deleted ones count 0). */
  sumOf(ids: readonly string[]): number {
    let sum = 0;
    for (const id of new Set(ids)) sum += contribution(this.#entries.get(id));
    return sum;
  }

  /** The count of a filter: from its live view if subscribed, else one pass. */
  countOf(filter: NormalFilter): number {
    return this.#filters.get(filterKey(filter))?.count$.value ?? this.#count(filter);
  }

  /** Starts (or shares) the live count of `filter`; pair with `release`. */
  acquire(filter: NormalFilter): BehaviorSubject<number> {
    const key = filterKey(filter);
    let view = this.#filters.get(key);
    if (view === undefined) {
      view = { filter, count$: new BehaviorSubject(this.#count(filter)), refs: 0 };
      this.#filters.set(key, view);
    }
    view.refs++;
    return view.count$;
  }

  release(filter: NormalFilter): void {
    const key = filterKey(filter);
    const view = this.#filters.get(key);
    if (view === undefined) return;
    view.refs--;
    if (view.refs <= 0) {
      this.#filters.delete(key);
      view.count$.complete();
    }
  }

  dispose(): void {
    this.#subscription.unsubscribe();
    this.#total.complete();
    for (const view of this.#filters.values()) view.count$.complete();
    this.#filters.clear();
  }

  #applyBulk(bulk: RxChangeEventBulk<ConversationDoc>, emit = true): void {
    let total = this.#total.value;
    const deltas = new Map<FilterView, number>();
    for (const event of bulk.events) {
      const next = entryOf(event.documentData);
      const previous = this.#entries.get(event.documentId);
      if (!this.#put(event.documentId, next, true)) continue;
      const before = contribution(previous);
      const after = contribution(next);
      total += after - before;
      for (const view of this.#filters.values()) {
        const was = previous !== undefined && previous.visible && matchesFilter(view.filter, previous) ? before : 0;
        const is = next.visible && matchesFilter(view.filter, next) ? after : 0;
        if (was !== is) deltas.set(view, (deltas.get(view) ?? 0) + is - was);
      }
    }
    if (!emit) return;
    this.#total.next(total);
    for (const [view, delta] of deltas) if (delta !== 0) view.count$.next(view.count$.value + delta);
  }

  /** Stores `entry` unless a newer revision is there; says whether it did. */
  #put(id: string, entry: Entry, allowEqual: boolean): boolean {
    const seen = this.#entries.get(id);
    if (seen !== undefined && (seen.height > entry.height || (!allowEqual && seen.height === entry.height))) return false;
    this.#entries.set(id, entry);
    return true;
  }

  #recount(): number {
    let total = 0;
    for (const entry of this.#entries.values()) total += contribution(entry);
    return total;
  }

  #count(filter: NormalFilter): number {
    let count = 0;
    for (const entry of this.#entries.values()) if (entry.visible && matchesFilter(filter, entry)) count += entry.unreadCount;
    return count;
  }
}
