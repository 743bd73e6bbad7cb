/**
 * The first screen of a device that has never synced (docs/ARCHITECTURE.md "First sync").
 *
 * Before the replicator pulls the conversations log from its start, it asks for the top of the
 * list (`sync:pull` with `order: 'rank'`) and stores it with the same join as every pull: the list
 * shows it at once. The page carries the account's unread totals at its log position P, but the
 * local unread index only holds what has been stored so far, so until the catch-up pull passes P
 * the totals the app sees are the page's, moved by what this device changed since:
 *
 *   shown(filter) = unreadOfCells(page cells, filter) + Σ over changed d of (c(d now) − c(d at P))
 *
 * where c is a conversation's share of the filter. A local edit (a read, a mute, …) or a stream
 * event after P (stored as it comes during the catch-up, so a message shows at once) puts a
 * conversation among the changed ones, with its state just before as its state at P: every state
 * stored before came from the page or from the pull below P, which are states at P (a pulled
 * document below P has not changed since). Pulled documents move nothing: they are already in the
 * page's totals. A conversation absent before was not in the list at P when the page held the
 * whole list; beyond a page with more, its state at P is unknown, and it counts from the switch.
 * The switch to the local index, complete by then, happens as the pull's checkpoint passes P, so
 * nothing is counted twice.
 *
 * The state (P, the cells, the changed conversations' states at P) is kept in the replica, so a
 * restart mid-catch-up resumes from its checkpoint with the right totals and no second page.
 *
 * Shown as it arrives: the page is asked for as the connection comes up, often before the engine
 * is handed out (`prefetch`), and its documents and totals are shown from that moment (`shown`),
 * ahead of their store — the write of a page is a good part of a fresh device's first screen in a
 * browser. Until the store lands, a page document not yet stored counts as its page state, and
 * the services' calls wait for the store (`settled`), so no call reads a replica that lacks what
 * the list shows. The wait is local only: a connection that goes away before the store releases it.
 */
import {
  ConvSyncError,
  ErrorCode,
  type Checkpoint,
  type ConversationDoc,
  type UnreadCell,
  type UnreadTotals,
  unreadOfCells,
} from '@convsync/protocol';
import { BehaviorSubject, Subject, distinctUntilChanged, filter, map, type Observable } from 'rxjs';
import type { Replica } from '../replica/types.js';
import type { ResponseOf, Transport } from '../transport/transport.js';
import { matchesFilter, type FilterFacts, type NormalFilter } from '../views/filter.js';

/** The first page's size: a screen and more (the list's first page is 50). */
export const FIRST_PAGE_SIZE = 100;
const STATE_KEY = 'firstPage';
const STATE_VERSION = 1;

/** What a conversation adds to the unread counts: its facts, or null when it is not in the list. */
export type Share = (FilterFacts & { readonly visible: boolean }) | null;

export interface SyncProgress {
  /** The log position the catch-up pull has reached. */
  pulled: number;
  /** The log position it goes to: the page's, or further once the pull passes it. */
  total: number;
}

interface StoredState {
  v: number;
  seq: number;
  hasMore: boolean;
  cells: UnreadCell[];
  /** Changed conversations and their share at P. */
  bases: [string, Share][];
  /** Conversations whose state at P is unknown (they count from the switch). */
  unknown: string[];
}

type PullAnswer = ResponseOf<'sync:pull'>;

/** The page: the top of the list in `rank` order, with the account's unread totals. */
function requestPage(transport: Transport): Promise<PullAnswer> {
  return transport.request('sync:pull', {
    collection: 'conversations',
    checkpoint: null,
    batchSize: FIRST_PAGE_SIZE,
    order: 'rank',
  } as never);
}

/** The page's unread totals; undefined from an older server (its answer is the log's first page). */
function totalsOf(page: PullAnswer): UnreadTotals | undefined {
  return page.collection === 'conversations' ? (page as { unread?: UnreadTotals }).unread : undefined;
}

function shareOf(share: Share, filter: NormalFilter | null): number {
  if (share === null || !share.visible) return 0;
  if (filter !== null && !matchesFilter(filter, share)) return 0;
  return share.unreadCount;
}

function factsOf(doc: ConversationDoc): Share {
  return { visible: true, type: doc.type, mute: doc.mute, groupIds: [...doc.groupIds], unreadCount: doc.unreadCount };
}

function isStoredState(value: unknown): value is StoredState {
  const s = value as Partial<StoredState> | null;
  return typeof s === 'object' && s !== null && s.v === STATE_VERSION && typeof s.seq === 'number' &&
    typeof s.hasMore === 'boolean' && Array.isArray(s.cells) && Array.isArray(s.bases) && Array.isArray(s.unknown);
}

export class FirstPage {
  readonly #replica: Replica;
  readonly #reportError: (error: unknown) => void;
  #state: StoredState | null = null;
  readonly #bases = new Map<string, Share>();
  readonly #unknown = new Set<string>();
  /** The page's totals took over or gave way: the unread views count again. */
  readonly #switched = new Subject<void>();
  readonly #progress = new BehaviorSubject<SyncProgress | null>(null);
  #saving: Promise<void> = Promise.resolve();
  /** The replica held no checkpoint when it opened: the first pull will ask for the page. */
  #fresh = false;
  /** The page was stored (or the server has none to give): no further request asks for it. */
  #done = false;
  /** The page asked for as this connection came up (see `prefetch`). */
  #prefetched: Promise<PullAnswer | undefined> | undefined;
  /** The answer whose state was taken as it arrived (see `#show`); its store does not take it again. */
  #shownAnswer: PullAnswer | undefined;
  /** The page's documents shown ahead of their store, by id; null once stored (or none shown). */
  #unstored: Map<string, ConversationDoc> | null = null;
  /** Service calls wait on it while a shown page's store is due (see `settled`). */
  #storeDue: { promise: Promise<void>; resolve: () => void } | null = null;
  /** The page's store is under way (local: a connection going away does not stop it). */
  #storing = false;
  readonly #shownChanged = new Subject<void>();
  readonly loaded: Promise<void>;

  constructor(replica: Replica, reportError: (error: unknown) => void, loadCheckpoint: () => Promise<Checkpoint | null>) {
    this.#replica = replica;
    this.#reportError = reportError;
    this.loaded = this.#load(loadCheckpoint).catch(reportError);
  }

  async #load(loadCheckpoint: () => Promise<Checkpoint | null>): Promise<void> {
    const [stored, checkpoint] = await Promise.all([this.#replica.getMeta(STATE_KEY), loadCheckpoint()]);
    this.#fresh = checkpoint === null;
    if (!isStoredState(stored)) return;
    // A checkpoint at or past P: the switch happened (its clearing may not have been written).
    if (checkpoint !== null && checkpoint.seq >= stored.seq) return;
    this.#take(stored);
    this.#progress.next({ pulled: checkpoint?.seq ?? 0, total: stored.seq });
  }

  #take(state: StoredState): void {
    this.#state = state;
    this.#bases.clear();
    this.#unknown.clear();
    for (const [id, share] of state.bases) this.#bases.set(id, share);
    for (const id of state.unknown) this.#unknown.add(id);
    this.#switched.next();
  }

  /** Whether the page's totals are what the app sees (catch-up below P). */
  get active(): boolean {
    return this.#state !== null;
  }

  /** Emits when `active` flips (the unread views count again). */
  get switched$(): Observable<void> {
    return this.#switched.asObservable();
  }

  /** `{ pulled, total }` of the first sync's catch-up, in log positions (see `sync`). */
  get progress$(): Observable<SyncProgress> {
    return this.#progress.pipe(
      filter((p): p is SyncProgress => p !== null),
      distinctUntilChanged((a, b) => a.pulled === b.pulled && a.total === b.total),
      map((p) => ({ ...p })),
    );
  }

  /**
   * The connection is up (the engine may still be opening its views): a replica that has never
   * synced asks for the page now, so that it is here when the replicator's first pull wants it.
   * Only a request: nothing is stored before `fetch`. `dropPrefetch` when the connection goes.
   */
  prefetch(transport: Transport): void {
    if (this.#prefetched !== undefined) return;
    const prefetched = this.loaded.then(() => (this.#fresh && !this.#done ? requestPage(transport) : undefined));
    // Unused (a reconnect, or a replica that is not fresh) it is dropped, and its failure with it.
    prefetched.catch(() => undefined);
    this.#prefetched = prefetched;
    // Shown as it arrives, unless the connection went (or the page was stored) meanwhile.
    prefetched.then((page) => {
      if (page !== undefined && this.#prefetched === prefetched && !this.#done) this.#show(page);
    }, () => undefined);
  }

  dropPrefetch(): void {
    this.#prefetched = undefined;
    // Unless it is under way, the store would wait for another answer now: calls go on with the
    // replica as it is.
    if (!this.#storing) this.#releaseCalls();
  }

  /**
   * The page's documents shown ahead of their store (the list merges them under what the replica
   * holds), or null. Changes are announced on `shownChanged$`.
   */
  get shown(): ReadonlyMap<string, ConversationDoc> | null {
    return this.#unstored;
  }

  get shownChanged$(): Observable<void> {
    return this.#shownChanged.asObservable();
  }

  /** While a shown page's store is due: resolves once it landed (or will not come without the network). */
  settled(): Promise<void> | undefined {
    return this.#storeDue?.promise;
  }

  /** The state of an answer with totals, or null (an older server's answer has none). */
  #stateOf(page: PullAnswer): StoredState | null {
    const unread = totalsOf(page);
    if (unread === undefined) return null;
    return {
      v: STATE_VERSION,
      seq: page.checkpoint.seq,
      hasMore: page.hasMore,
      cells: unread.cells,
      bases: (page.documents as ConversationDoc[]).map((doc) => [doc.conversationId, factsOf(doc)]),
      unknown: [],
    };
  }

  /** Takes an arrived page's totals and shows its documents before the replicator stores them. */
  #show(page: PullAnswer): void {
    const state = this.#stateOf(page);
    if (state === null) return;
    this.#shownAnswer = page;
    const unstored = new Map<string, ConversationDoc>();
    for (const doc of page.documents as ConversationDoc[]) if (!doc._deleted) unstored.set(doc.conversationId, doc);
    this.#unstored = unstored;
    if (this.#storeDue === null) {
      let resolve = (): void => undefined;
      const promise = new Promise<void>((done) => {
        resolve = done;
      });
      this.#storeDue = { promise, resolve };
    }
    this.#take(state);
    this.#progress.next({ pulled: 0, total: state.seq });
    this.#shownChanged.next();
  }

  #releaseCalls(): void {
    this.#storeDue?.resolve();
    this.#storeDue = null;
  }

  /** The shown documents are in the replica (or another page replaces them): the list reads them there. */
  #stored(): void {
    if (this.#unstored !== null) {
      this.#unstored = null;
      this.#shownChanged.next();
    }
    this.#releaseCalls();
  }

  /**
   * Stores the first page (`store`: the replicator's join): the one asked for as the connection
   * came up, else a new request. An older server, whose answer has no `unread`, gets today's
   * behaviour: the pull from the start, nothing else.
   */
  async fetch(transport: Transport, store: (docs: ConversationDoc[]) => Promise<void>): Promise<void> {
    const prefetched = this.#prefetched;
    this.#prefetched = undefined;
    const page = (await prefetched) ?? await requestPage(transport);
    this.#done = true;
    if (totalsOf(page) === undefined) return;
    // Taken and shown before the documents are stored, so the list and the totals never disagree
    // (a page shown as it arrived was taken then, and changes counted since are kept).
    if (page !== this.#shownAnswer) this.#show(page);
    this.#shownAnswer = undefined;
    this.#save();
    this.#storing = true;
    try {
      await store(page.documents as ConversationDoc[]);
      this.#stored();
    } finally {
      this.#storing = false;
      // A failed store is tried again by the next pull: calls do not wait for that.
      this.#releaseCalls();
    }
  }

  /**
   * During the catch-up, a stream event after P is stored as it comes (a message shows at once);
   * one at or before P is in the page's totals and the pull brings it.
   */
  storesEarly(checkpoint: Checkpoint): boolean {
    return this.#state !== null && checkpoint.seq > this.#state.seq;
  }

  /** The replicator's checkpoint moved (a pulled page or a streamed commit). */
  advanced(checkpoint: Checkpoint, caughtUp: boolean): void {
    const progress = this.#progress.getValue();
    if (progress === null) return;
    const total = Math.max(progress.total, checkpoint.seq);
    this.#progress.next({ pulled: caughtUp ? total : checkpoint.seq, total });
    if (this.#state !== null && checkpoint.seq >= this.#state.seq) {
      this.#state = null;
      this.#bases.clear();
      this.#unknown.clear();
      this.#saving = this.#saving.then(() => this.#replica.setMeta(STATE_KEY, null)).catch(this.#reportError);
      this.#switched.next();
    }
  }

  /** The pull reached the head of the log: the bar is full. */
  caughtUp(checkpoint: Checkpoint): void {
    this.advanced(checkpoint, true);
    if (this.#progress.getValue() !== null) this.#progress.next(null);
  }

  /**
   * A conversation's stored state changed from `previous`. `local`: a local edit or a stream event
   * stored ahead of the pull (not a pulled page); only those make it one of the changed ones.
   */
  changed(id: string, previous: Share | undefined, local: boolean): void {
    if (this.#state === null || !local || this.#bases.has(id) || this.#unknown.has(id)) return;
    if (previous !== undefined) this.#bases.set(id, previous);
    else if (!this.#state.hasMore) this.#bases.set(id, null);
    else this.#unknown.add(id);
    this.#save();
  }

  /** The count the app sees for `filter` (null: the total), given each conversation's share now. */
  count(filter: NormalFilter | null, now: (id: string) => Share | undefined): number {
    const state = this.#state;
    if (state === null) throw new ConvSyncError(ErrorCode.INTERNAL, 'the first page is not active');
    let sum = filter === null
      ? unreadOfCells(state.cells)
      : unreadOfCells(state.cells, filter);
    // A shown document not stored yet is as the page has it.
    const unstored = this.#unstored;
    const current = (id: string): Share => {
      const stored = now(id);
      if (stored !== undefined) return stored;
      const shown = unstored?.get(id);
      return shown === undefined ? null : factsOf(shown);
    };
    for (const [id, base] of this.#bases) sum += shareOf(current(id), filter) - shareOf(base, filter);
    return Math.max(0, sum);
  }

  #save(): void {
    const state = this.#state;
    if (state === null) return;
    const snapshot: StoredState = { ...state, bases: [...this.#bases], unknown: [...this.#unknown] };
    this.#saving = this.#saving.then(() => this.#replica.setMeta(STATE_KEY, snapshot)).catch(this.#reportError);
  }

  /** Waits for the state's last write (before the replica closes). */
  async flush(): Promise<void> {
    await this.#saving;
  }

  dispose(): void {
    this.#releaseCalls();
    this.#shownChanged.complete();
    this.#switched.complete();
    this.#progress.complete();
  }
}
