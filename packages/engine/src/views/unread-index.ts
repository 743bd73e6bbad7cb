/**
 * Incremental unread counts (docs/ARCHITECTURE.md "Unread views"). The index mirrors, per conversation, the few
 * facts filters need (type, mute, groups, unread) and its rank (a cold start's top page is found
 * here, `top`), and keeps the total and one count per subscribed filter. Each change event
 * (previous and new document) moves the counts by the difference of the two contributions: O(1)
 * per change and filter, never a rescan.
 *
 * Cold start: the index is persisted (a snapshot of its entries with the storage checkpoint of the
 * last change it holds, written a moment after changes and on dispose), so a restart reads one
 * small document — not the whole collection, and never a `count()` query. After a clean close the
 * snapshot is exact; after a crash the documents changed since its checkpoint are read in the
 * background (replica/changes.ts: index ranges, so finding none costs two short reads) and
 * corrected a moment later (the "open" flag, set before `ready`, tells which; with tabs, every
 * start reads them, as another tab may have crashed).
 * Without a snapshot it reads the collection once. Events that arrive meanwhile are applied in
 * revision order (`_rev` height), so nothing older overwrites something newer.
 *
 * Dirty marks: the index also keeps each marked document's dirty epoch (replica/dirty.ts), so the
 * replicator finds the conversations to push here (`dirtyIds`) instead of in an index on `dirty`,
 * which every stored document would pay for (a fifth of a fresh sync in memory). The snapshot and its
 * catch-up make the set as durable as the marks: every document written after the snapshot's
 * checkpoint is read again at start.
 */
import { BehaviorSubject, distinctUntilChanged, type Observable, type Subscription } from 'rxjs';
import type { RxChangeEventBulk, RxDocumentData, RxStorageDefaultCheckpoint } from 'rxdb';
import type { ConversationDoc } from '@convsync/protocol';
import { changedSince } from '../replica/changes.js';
import { epochOf, type DirtyMarks } from '../replica/dirty.js';
import type { ConversationCollection } from '../replica/types.js';
import { isReplicationWrite } from '../replication/collection.js';
import type { FirstPage } from '../replication/first-page.js';
import { filterKey, matchesFilter, type FilterFacts, type NormalFilter } from './filter.js';

interface Entry extends FilterFacts {
  readonly height: number;
  readonly visible: boolean;
}

/** Where the index keeps its snapshot: the replica's device-local values. */
export interface SnapshotStore {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
}

const SNAPSHOT_KEY = 'unreadIndex';
/** True while a session runs: a snapshot is exact only if the session that wrote it closed. */
const OPEN_KEY = 'unreadIndexOpen';

export interface UnreadIndexOptions {
  onError: (error: unknown) => void;
  snapshots?: SnapshotStore;
  /** How long after a change the snapshot is written (ms, default 2000). */
  snapshotDelayMs?: number;
  /**
   * Whether a snapshot marked closed is exact (default true). Not with several engines on one
   * replica (tabs): one closing says nothing of the others.
   */
  trustCleanClose?: boolean;
  /**
   * The start-up reads, begun earlier by the engine (`readIndexStart`, while the collections open);
   * read at load time when absent.
   */
  startReads?: Promise<IndexStartReads>;
  /** During a first sync's catch-up, the counts the app sees are the first page's (first-page.ts). */
  firstPage?: Pick<FirstPage, 'active' | 'switched$' | 'changed' | 'count' | 'loaded'>;
}

/** What a start reads before it counts, and the "open" flag set again for this run. */
export interface IndexStartReads {
  readonly snapshot: unknown;
  /** Whether the last run did not close cleanly (or a clean close is not to be trusted). */
  readonly wasOpen: boolean;
  /** The flag's write: resolved once it is stored (or failed, reported). */
  readonly marked: Promise<void>;
}

/**
 * The snapshot, the "open" flag, and the flag's write for this run. They need only the snapshot
 * store, so the engine begins them as soon as the replica's own documents can be read, while its
 * collections open; the flag is written after it was read, before any change can happen (changes
 * wait for `ready`, which waits for `marked`).
 */
export async function readIndexStart(store: SnapshotStore | undefined, options: { trustCleanClose: boolean; onError: (error: unknown) => void }): Promise<IndexStartReads> {
  // The reads go out together (a fresh device's start waits on each round trip).
  const [snapshot, open] = await Promise.all([
    store?.get(SNAPSHOT_KEY).catch(() => undefined),
    options.trustCleanClose ? store?.get(OPEN_KEY).catch(() => true) : true,
  ]);
  const marked = store === undefined ? Promise.resolve() : store.set(OPEN_KEY, true).catch((error: unknown) => options.onError(error));
  return { snapshot, wasOpen: open !== false, marked };
}

/**
 * 3: each row carries the conversation's rank (the list's top page is found here), and the rows
 * are one JSON string: IndexedDB copies a stored value by structured clone, which for 10,000 small
 * arrays cost a cold start 25–50 ms more in Chromium than one string and its `JSON.parse`. A
 * snapshot of an older version is read as none (the collection once).
 */
const SNAPSHOT_VERSION = 3;
const CATCH_UP_BATCH = 1000;
const MAX_SNAPSHOT_WAIT_MS = 30_000;
type Row = [id: string, height: number, visible: 0 | 1, type: number, mute: 0 | 1, unread: number, groupIds: string[], dirty: number, rank: number];

function isRow(value: unknown): value is Row {
  return Array.isArray(value) && value.length === 9 && typeof value[0] === 'string' && typeof value[1] === 'number' &&
    typeof value[3] === 'number' && typeof value[5] === 'number' && Array.isArray(value[6]) && typeof value[7] === 'number' &&
    typeof value[8] === 'number';
}

/** The rows of a stored snapshot, or undefined when it is none this version reads (older, or damaged). */
export function snapshotRows(snapshot: unknown): Row[] | undefined {
  if (typeof snapshot !== 'object' || snapshot === null) return undefined;
  const { v, rows } = snapshot as { v?: unknown; rows?: unknown };
  if (v !== SNAPSHOT_VERSION || typeof rows !== 'string') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(rows);
  } catch {
    return undefined;
  }
  return Array.isArray(parsed) && parsed.every(isRow) ? parsed : undefined;
}

function isCheckpoint(value: unknown): value is RxStorageDefaultCheckpoint {
  return typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string' &&
    typeof (value as { lwt?: unknown }).lwt === 'number';
}

/** A place in the list order: ascending rank, then id (views/conversation-mirror.ts). */
export interface ListPosition {
  readonly rank: number;
  readonly conversationId: string;
}

function precedes(a: ListPosition, b: ListPosition): boolean {
  return a.rank < b.rank || (a.rank === b.rank && a.conversationId < b.conversationId);
}

interface FilterView {
  readonly filter: NormalFilter;
  readonly count$: BehaviorSubject<number>;
  /** The count of the stored conversations (what `count$` shows unless the first page's is). */
  local: number;
  refs: number;
}

/** The revision height (`<height>-<hash>`), read digit by digit: no substring per document. */
function heightOf(rev: string): number {
  let height = 0;
  for (let i = 0; i < rev.length; i++) {
    const code = rev.charCodeAt(i);
    if (code === 45 /* '-' */) return i > 0 ? height : 0;
    if (code < 48 || code > 57) return 0;
    height = height * 10 + (code - 48);
  }
  return 0;
}

/**
 * Every entry is made here, so all have one shape (property order) and the counting loops stay
 * monomorphic. The dirty epoch is not in it: a millisecond epoch is not a small integer, and
 * entries whose field holds both kinds made V8 deoptimise the counting code on the first edits.
 */
function makeEntry(height: number, visible: boolean, type: Entry['type'], mute: boolean, groupIds: string[], unreadCount: number): Entry {
  return { height, visible, type, mute, groupIds, unreadCount };
}

function entryOf(data: RxDocumentData<ConversationDoc>): Entry {
  return makeEntry(heightOf(data._rev), !data._deleted, data.type, data.mute, data.groupIds, data.unreadCount);
}

function contribution(entry: Entry | undefined): number {
  return entry !== undefined && entry.visible ? entry.unreadCount : 0;
}

export class UnreadIndex implements DirtyMarks {
  readonly #entries = new Map<string, Entry>();
  /** The dirty epoch of every entry that has one. */
  readonly #marked = new Map<string, number>();
  /**
   * Every entry's rank, so a cold start finds the list's top page here (`top`). Kept apart from
   * the entries for the reason the epochs are: a rank is not a small integer, a tombstone's is 0.
   */
  readonly #ranks = new Map<string, number>();
  readonly #total = new BehaviorSubject<number>(0);
  /** The total of the stored conversations (what `#total` shows unless the first page's is). */
  #localTotal = 0;
  readonly #filters = new Map<string, FilterView>();
  readonly #subscription: Subscription;
  readonly #collection: ConversationCollection;
  readonly #options: UnreadIndexOptions;
  /** The storage checkpoint of the newest change the entries hold. */
  #checkpoint: RxStorageDefaultCheckpoint | undefined = undefined;
  #dirty = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #dirtySince: number | undefined;
  #saving: Promise<void> = Promise.resolve();
  #disposed = false;
  /** While documents after a checkpoint are being read, a snapshot would claim too much. */
  #catchingUp = false;
  #catchUp: Promise<void> = Promise.resolve();
  #liveBulks = 0;
  readonly ready: Promise<void>;

  constructor(collection: ConversationCollection, options: UnreadIndexOptions) {
    this.#collection = collection;
    this.#options = options;
    let buffered: RxChangeEventBulk<ConversationDoc>[] | null = [];
    this.#subscription = collection.eventBulks$.subscribe((bulk: RxChangeEventBulk<ConversationDoc>) => {
      if (buffered !== null) buffered.push(bulk);
      else this.#applyBulk(bulk);
    });
    this.ready = this.#load().then(
      () => {
        const pending = buffered ?? [];
        buffered = null;
        for (const bulk of pending) this.#applyBulk(bulk, false);
        this.#recountAll();
        const switched = options.firstPage?.switched$.subscribe(() => this.#recountAll());
        if (switched !== undefined) this.#subscription.add(switched);
      },
      (error: unknown) => {
        buffered = null;
        options.onError(error);
      },
    );
  }

  /**
   * With a snapshot: its entries at once, then (in the background, so a cold start waits on one
   * small read) the documents changed after its checkpoint — none after a clean shutdown; a crash
   * between a change and the next snapshot is corrected a moment later. Without one: the whole
   * collection, once, before `ready`.
   */
  async #load(): Promise<void> {
    const start = this.#options.startReads ?? readIndexStart(this.#options.snapshots, {
      trustCleanClose: this.#options.trustCleanClose !== false,
      onError: this.#options.onError,
    });
    await this.#options.firstPage?.loaded;
    const { snapshot, wasOpen, marked } = await start;
    const rows = snapshotRows(snapshot);
    if (rows !== undefined) {
      const { checkpoint } = snapshot as { checkpoint?: unknown };
      if (isCheckpoint(checkpoint)) {
        for (const [id, height, visible, type, mute, unreadCount, groupIds, dirty, rank] of rows) {
          this.#set(id, makeEntry(height, visible === 1, type as Entry['type'], mute === 1, groupIds, unreadCount), dirty, rank);
        }
        this.#checkpoint = checkpoint;
        // Mid first-sync catch-up, pulled pages are stored up to the replicator's cancel, after
        // the index stopped following: read what came after the snapshot.
        if (wasOpen || this.#options.firstPage?.active === true) {
          this.#catchUp = this.#readChanges(checkpoint, true).catch((error: unknown) => {
            if (!this.#disposed) this.#options.onError(error);
          });
        }
        await marked;
        return;
      }
    }
    await Promise.all([marked, this.#readChanges(undefined, false)]);
  }

  /** Applies every document changed after `from` (all of them when undefined). */
  async #readChanges(from: RxStorageDefaultCheckpoint | undefined, emit: boolean): Promise<void> {
    this.#catchingUp = true;
    const liveBefore = this.#liveBulks;
    let checkpoint = from;
    let read = 0;
    try {
      for (;;) {
        const page = await changedSince(this.#collection, CATCH_UP_BATCH, checkpoint);
        if (this.#disposed) return;
        if (emit) this.#applyDocs(page.documents, true, (data) => data);
        else for (const data of page.documents) this.#put(data);
        read += page.documents.length;
        if (page.documents.length > 0) checkpoint = page.checkpoint;
        if (page.documents.length < CATCH_UP_BATCH) break;
      }
    } finally {
      this.#catchingUp = false;
    }
    // A change seen live meanwhile carries the newer checkpoint; otherwise the last page's.
    if (this.#liveBulks === liveBefore && read > 0) this.#checkpoint = checkpoint;
    if (read > 0 || this.#dirty) {
      this.#dirty = true;
      this.#scheduleSave();
    }
  }

  /**
   * Debounced: a snapshot is written once changes pause for `snapshotDelayMs` (so a first sync
   * streaming thousands of documents is not slowed by snapshots), but at least every
   * `MAX_SNAPSHOT_WAIT_MS` while they keep coming.
   */
  #scheduleSave(): void {
    if (this.#options.snapshots === undefined || this.#disposed || this.#catchingUp) return;
    const now = Date.now();
    this.#dirtySince ??= now;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const delay = Math.min(this.#options.snapshotDelayMs ?? 2000, Math.max(0, this.#dirtySince + MAX_SNAPSHOT_WAIT_MS - now));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#dirtySince = undefined;
      this.#saving = this.#saving.then(() => this.#save());
    }, delay);
    (this.#timer as { unref?: () => void }).unref?.();
  }


  async #save(): Promise<void> {
    const snapshots = this.#options.snapshots;
    if (snapshots === undefined || !this.#dirty || this.#checkpoint === undefined || this.#catchingUp) return;
    this.#dirty = false;
    const rows: Row[] = [];
    for (const [id, e] of this.#entries) {
      rows.push([id, e.height, e.visible ? 1 : 0, e.type, e.mute ? 1 : 0, e.unreadCount, [...e.groupIds], this.#marked.get(id) ?? 0, this.#ranks.get(id) ?? 0]);
    }
    try {
      await snapshots.set(SNAPSHOT_KEY, { v: SNAPSHOT_VERSION, checkpoint: this.#checkpoint, rows: JSON.stringify(rows) });
    } catch (error) {
      this.#options.onError(error);
    }
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

  /** Ids of the visible conversations. */
  visibleIds(): string[] {
    const ids: string[] = [];
    for (const [id, entry] of this.#entries) if (entry.visible) ids.push(id);
    return ids;
  }

  /**
   * The first `n` visible conversations in list order (complete once `caughtUp`), and whether more
   * follow. One pass, keeping the best `n` in order: a cold start's top page read by id.
   */
  top(n: number): { positions: ListPosition[]; more: boolean } {
    const best: ListPosition[] = [];
    let visible = 0;
    for (const [conversationId, entry] of this.#entries) {
      if (!entry.visible) continue;
      visible++;
      const position = { rank: this.#ranks.get(conversationId) ?? 0, conversationId };
      if (best.length === n && !precedes(position, best[n - 1] as ListPosition)) continue;
      let at = best.length;
      while (at > 0 && precedes(position, best[at - 1] as ListPosition)) at--;
      best.splice(at, 0, position);
      if (best.length > n) best.pop();
    }
    return { positions: best, more: visible > n };
  }

  /** Resolves once the index holds every change (after a crash's background catch-up). */
  get caughtUp(): Promise<void> {
    return this.ready.then(() => this.#catchUp);
  }

  /** The conversations with a dirty mark, oldest epoch first (complete once `caughtUp`). */
  dirtyIds(): string[] {
    if (this.#marked.size === 0) return [];
    return [...this.#marked].sort((a, b) => a[1] - b[1]).map(([id]) => id);
  }

  #set(id: string, entry: Entry, dirty: number, rank: number): void {
    this.#entries.set(id, entry);
    this.#ranks.set(id, rank);
    if (dirty > 0) this.#marked.set(id, dirty);
    else if (this.#marked.size > 0) this.#marked.delete(id);
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
    return this.#filters.get(filterKey(filter))?.count$.value ?? this.#shown(filter, this.#count(filter));
  }

  /** Starts (or shares) the live count of `filter`; pair with `release`. */
  acquire(filter: NormalFilter): BehaviorSubject<number> {
    const key = filterKey(filter);
    let view = this.#filters.get(key);
    if (view === undefined) {
      const local = this.#count(filter);
      view = { filter, count$: new BehaviorSubject(this.#shown(filter, local)), local, refs: 0 };
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

  /** Stops following changes and writes the snapshot (before the replica closes). */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#subscription.unsubscribe();
    await this.ready.catch(() => undefined);
    await this.#saving;
    // Mid catch-up the entries are not complete: keep the older snapshot (and the open flag, so
    // the next start catches up again).
    if (!this.#catchingUp) {
      await this.#save();
      await this.#options.snapshots?.set(OPEN_KEY, false).catch((error: unknown) => this.#options.onError(error));
    }
    this.#total.complete();
    for (const view of this.#filters.values()) view.count$.complete();
    this.#filters.clear();
  }

  #applyBulk(bulk: RxChangeEventBulk<ConversationDoc>, emit = true): void {
    this.#liveBulks++;
    this.#checkpoint = bulk.checkpoint;
    this.#dirty = true;
    this.#scheduleSave();
    // A local edit or a stream event stored ahead of the pull (EARLY_STREAM_CONTEXT) moves the
    // first page's totals; a pulled page does not.
    this.#applyDocs(bulk.events, emit, (event) => event.documentData, !isReplicationWrite(bulk.context));
  }

  /** What the app sees for `filter` (null: the total) whose stored count is `local`. */
  #shown(filter: NormalFilter | null, local: number): number {
    const firstPage = this.#options.firstPage;
    if (firstPage === undefined || !firstPage.active) return local;
    return firstPage.count(filter, (id) => this.#entries.get(id));
  }

  /** Counts everything again (at start, and when the first page's totals take over or give way). */
  #recountAll(): void {
    this.#localTotal = this.#recount();
    this.#total.next(this.#shown(null, this.#localTotal));
    for (const view of this.#filters.values()) {
      view.local = this.#count(view.filter);
      view.count$.next(this.#shown(view.filter, view.local));
    }
  }

  /**
   * Moves the counts by each document's change of contribution, and emits each count once for the
   * whole batch (a pulled page of 2,000 is one emission, not 2,000).
   */
  #applyDocs<T>(items: readonly T[], emit: boolean, dataOf: (item: T) => RxDocumentData<ConversationDoc>, local = false): void {
    const firstPage = this.#options.firstPage?.active === true ? this.#options.firstPage : undefined;
    let total = this.#localTotal;
    const views = this.#filters.size > 0 ? [...this.#filters.values()] : null;
    const deltas = views === null ? null : new Map<FilterView, number>();
    for (let i = 0; i < items.length; i++) {
      const data = dataOf(items[i] as T);
      const next = entryOf(data);
      const previous = this.#entries.get(data.conversationId);
      if (previous !== undefined && previous.height > next.height) continue;
      firstPage?.changed(data.conversationId, previous, local);
      this.#set(data.conversationId, next, epochOf(data), data.rank);
      const before = contribution(previous);
      const after = contribution(next);
      total += after - before;
      if (views === null || deltas === null) continue;
      for (const view of views) {
        const was = previous !== undefined && previous.visible && matchesFilter(view.filter, previous) ? before : 0;
        const is = next.visible && matchesFilter(view.filter, next) ? after : 0;
        if (was !== is) deltas.set(view, (deltas.get(view) ?? 0) + is - was);
      }
    }
    this.#localTotal = total;
    if (deltas !== null) for (const [view, delta] of deltas) view.local += delta;
    if (!emit) return;
    if (firstPage !== undefined) {
      this.#total.next(this.#shown(null, total));
      for (const view of views ?? []) view.count$.next(this.#shown(view.filter, view.local));
      return;
    }
    this.#total.next(total);
    if (deltas !== null) for (const [view, delta] of deltas) if (delta !== 0) view.count$.next(view.local);
  }

  /** Stores the document's entry unless this revision or a newer one is there. */
  #put(data: RxDocumentData<ConversationDoc>): void {
    const entry = entryOf(data);
    const seen = this.#entries.get(data.conversationId);
    if (seen !== undefined && seen.height >= entry.height) return;
    this.#set(data.conversationId, entry, epochOf(data), data.rank);
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
