/**
 * An in-memory mirror of the visible conversations, for the live list (`conversationList$`).
 *
 * Why not an RxDB query: its first run reads the whole collection through an index cursor, which
 * IndexedDB (and fake-indexeddb far worse: quadratic) walks one record at a time. The mirror knows
 * the ids from the unread index (itself loaded from a snapshot), reads those documents with one
 * bulk get by primary key, then follows the collection's change events. It starts on the first
 * subscription and is shared by every list subscription.
 *
 * Cold start, top first: reading every document takes a while on a large replica (10,000 on
 * IndexedDB: hundreds of ms), while a screen shows the first few dozen. So the mirror first reads
 * the top page and publishes it as a partial view (`through`: the list position of the page's
 * last conversation), then the full bulk read, and publishes the complete view. The unread index
 * knows every conversation's rank, so the page's ids and `through` come from it (`top`, once it
 * holds every change) and the documents from one bulk get — on IndexedDB a range read through the
 * `rank` index walked a cursor, one round trip per step, twice as long. The page stays exact while
 * the rest loads because change events are taken from the moment the mirror starts, before the
 * ids are taken: a conversation at or before `through` now was there then (so it is read) or has
 * changed since (so its event brought it); the held documents up to `through` are exactly the top
 * of the list. Every change is applied at once and kept by revision height (`_rev`), so nothing
 * older overwrites something newer whichever of the reads and the events lands first.
 *
 * Read ahead: the engine asks for the top page while its other start-up reads run (`prefetch`), so
 * a cold start's first list does not wait for a read of its own (on IndexedDB every read waits its
 * turn behind the others). The changes that come meanwhile are kept and applied with the page;
 * the page is as good as one read at the first subscription, since it is read after the keeping
 * began and everything is kept by revision height.
 *
 * A fresh device's first page is shown as it arrives, ahead of its store (replication/first-page.ts):
 * its documents are listed under every id the mirror does not hold, until the store brings them.
 */
import { BehaviorSubject, filter, type Observable, type Subscription } from 'rxjs';
import type { RxChangeEventBulk, RxDocumentData } from 'rxdb';
import type { ConversationDoc } from '@convsync/protocol';
import type { ConversationCollection } from '../replica/types.js';
import type { ListPosition, UnreadIndex } from './unread-index.js';

export type { ListPosition } from './unread-index.js';

/** The first page's documents shown ahead of their store (replication/first-page.ts). */
export interface ShownPage {
  readonly shown: ReadonlyMap<string, ConversationDoc> | null;
  readonly shownChanged$: Observable<void>;
}

/** How many conversations the first read takes: what a screen shows, with room to scroll. */
export const TOP_PAGE = 100;

/** A read-ahead page is dropped once more changes than this came before anyone subscribed (a sync). */
const PREFETCH_CHANGE_LIMIT = 1000;

/** The top of the list: its documents, and where it ends (null: it is the whole list). */
interface TopPage {
  readonly docs: RxDocumentData<ConversationDoc>[];
  readonly through: ListPosition | null;
}

/** The top page read before the first subscription, and the changes since its read began. */
interface Prefetch {
  readonly top: Promise<TopPage>;
  readonly changes: RxDocumentData<ConversationDoc>[];
  readonly subscription: Subscription;
}

interface Held {
  readonly height: number;
  readonly doc: ConversationDoc | null;
}

/** What the mirror holds, as of one moment. */
export interface MirrorView {
  /** The held visible conversations in list order. */
  readonly docs: readonly ConversationDoc[];
  /**
   * null once every visible conversation is held. While the rest loads: the list position up to
   * which (inclusive) `docs` is exactly the list; held documents after it are only those a change
   * brought in, so they say nothing about what lies between.
   */
  readonly through: ListPosition | null;
}

function heightOf(rev: string): number {
  const dash = rev.indexOf('-');
  return dash > 0 ? Number(rev.slice(0, dash)) : 0;
}

/** List order: ascending rank (pinned first, newest first), then id. */
export function byRank(a: ConversationDoc, b: ConversationDoc): number {
  return a.rank - b.rank || (a.conversationId < b.conversationId ? -1 : a.conversationId > b.conversationId ? 1 : 0);
}

/** Whether list position (`rank`, `conversationId`) is at or before `position`. */
export function atOrBefore(rank: number, conversationId: string, position: ListPosition): boolean {
  return rank < position.rank || (rank === position.rank && conversationId <= position.conversationId);
}

export class ConversationMirror {
  readonly #collection: ConversationCollection;
  readonly #index: UnreadIndex;
  readonly #onError: (error: unknown) => void;
  readonly #page: ShownPage | undefined;
  readonly #held = new Map<string, Held>();
  /** Ids looked up by `include` and found absent (a later change may still bring them). */
  readonly #absent = new Set<string>();
  readonly #requested = new Set<string>();
  /** null until the top page is read. */
  readonly #view = new BehaviorSubject<MirrorView | null>(null);
  #subscription: Subscription | undefined;
  #prefetch: Prefetch | undefined;
  #sorted: ConversationDoc[] | null = null;
  #through: ListPosition | null = null;
  #published = false;
  #disposed = false;

  constructor(options: { collection: ConversationCollection; index: UnreadIndex; onError: (error: unknown) => void; page?: ShownPage }) {
    this.#collection = options.collection;
    this.#index = options.index;
    this.#onError = options.onError;
    this.#page = options.page;
  }

  /**
   * The held conversations: the top of the list first on a cold start (`through` set), then the
   * whole list (`through` null); after that a new view after every change.
   */
  get view$(): Observable<MirrorView> {
    this.#start();
    return this.#view.pipe(filter((view): view is MirrorView => view !== null));
  }

  /**
   * While the rest loads: whether the current document of `conversationId` (or its absence) is
   * known. Always true once the whole list is held.
   */
  knows(conversationId: string): boolean {
    return this.#through === null || this.#held.has(conversationId) || this.#absent.has(conversationId);
  }

  /**
   * While the rest loads: reads these conversations now (a subscriber must place them before the
   * whole list is in — a conversation moved up by a message in the outbox) and publishes again.
   */
  include(conversationIds: readonly string[]): void {
    if (this.#through === null || this.#disposed) return;
    const wanted = conversationIds.filter((id) => !this.knows(id) && !this.#requested.has(id));
    if (wanted.length === 0) return;
    for (const id of wanted) this.#requested.add(id);
    this.#fetch(wanted)
      .then(() => {
        for (const id of wanted) if (!this.#held.has(id)) this.#absent.add(id);
        if (!this.#disposed && this.#through !== null) this.#publish();
      })
      .catch((error: unknown) => this.#report(error));
  }

  /**
   * Reads the top page now, ahead of the first subscription (see the file's comment). Does nothing
   * once the mirror runs.
   */
  prefetch(): void {
    if (this.#subscription !== undefined || this.#prefetch !== undefined || this.#disposed) return;
    const changes: RxDocumentData<ConversationDoc>[] = [];
    const subscription = this.#collection.eventBulks$.subscribe((bulk: RxChangeEventBulk<ConversationDoc>) => {
      for (const event of bulk.events) changes.push(event.documentData);
      if (changes.length > PREFETCH_CHANGE_LIMIT) this.#dropPrefetch();
    });
    const top = this.#readTop();
    // A failed read-ahead is read again by the mirror when it starts.
    top.catch(() => undefined);
    this.#prefetch = { top, changes, subscription };
  }

  dispose(): void {
    this.#disposed = true;
    this.#dropPrefetch();
    this.#subscription?.unsubscribe();
    this.#view.complete();
  }

  #start(): void {
    if (this.#subscription !== undefined || this.#disposed) return;
    // Before any read: a change committed after a read started reaches the mirror as an event.
    this.#subscription = this.#collection.eventBulks$.subscribe((bulk: RxChangeEventBulk<ConversationDoc>) => {
      if (this.#apply(bulk.events.map((e) => e.documentData)) && this.#published) this.#publish();
    });
    const page = this.#page;
    if (page !== undefined) {
      this.#subscription.add(page.shownChanged$.subscribe(() => {
        this.#sorted = null;
        if (this.#published) this.#publish();
      }));
    }
    // Taken after the mirror's own subscription began, so no change falls between the two.
    const prefetch = this.#prefetch;
    this.#dropPrefetch();
    this.#load(prefetch).catch((error: unknown) => this.#report(error));
  }

  #dropPrefetch(): void {
    this.#prefetch?.subscription.unsubscribe();
    this.#prefetch = undefined;
  }

  /** Called after the change events are taken (see the file's comment). */
  async #readTop(): Promise<TopPage> {
    await this.#index.caughtUp;
    const { positions, more } = this.#index.top(TOP_PAGE);
    const docs = positions.length === 0 ? [] : await this.#collection.storageInstance.findDocumentsById(positions.map((p) => p.conversationId), false);
    // A short page is the whole list: nothing more to read.
    return { docs, through: more ? (positions[positions.length - 1] ?? null) : null };
  }

  async #load(prefetch: Prefetch | undefined): Promise<void> {
    let top: TopPage;
    if (prefetch === undefined) top = await this.#readTop();
    else {
      top = await prefetch.top.catch(() => this.#readTop());
      this.#apply(prefetch.changes);
    }
    if (this.#disposed) return;
    this.#apply(top.docs);
    this.#through = top.through;
    this.#published = true;
    this.#publish();
    if (this.#through === null) return;

    await this.#index.ready;
    await this.#fetch(this.#index.visibleIds());
    if (this.#disposed) return;
    this.#through = null;
    this.#absent.clear();
    this.#requested.clear();
    this.#publish();
    // After a crash the index catches up in the background: pick up what it adds or removes.
    await this.#index.caughtUp;
    if (this.#disposed) return;
    const known = new Set(this.#index.visibleIds());
    const missing = [...known].filter((id) => this.#held.get(id)?.doc == null);
    let changed = await this.#fetch(missing);
    for (const [id, held] of this.#held) {
      if (held.doc !== null && !known.has(id) && this.#index.facts(id) === undefined) {
        const [current] = await this.#collection.storageInstance.findDocumentsById([id], true);
        if (current === undefined || current._deleted) changed = this.#apply(current === undefined ? [] : [current]) || changed;
      }
    }
    if (changed && !this.#disposed) this.#publish();
  }

  /** A read that fails after dispose is the replica closing, not trouble. */
  #report(error: unknown): void {
    if (!this.#disposed) this.#onError(error);
  }

  async #fetch(ids: readonly string[]): Promise<boolean> {
    if (ids.length === 0) return false;
    const found = await this.#collection.storageInstance.findDocumentsById([...ids], false);
    return this.#apply(found);
  }

  /** Takes documents newer than what is held; says whether anything changed. */
  #apply(docs: readonly RxDocumentData<ConversationDoc>[]): boolean {
    let changed = false;
    for (const data of docs) {
      const height = heightOf(data._rev);
      const held = this.#held.get(data.conversationId);
      if (held !== undefined && held.height >= height) continue;
      // Held as RxDB gave it (meta included): readers only read fields, so no copy.
      this.#held.set(data.conversationId, { height, doc: data._deleted ? null : data });
      changed = true;
    }
    if (changed) this.#sorted = null;
    return changed;
  }

  #publish(): void {
    if (this.#disposed) return;
    if (this.#sorted === null) {
      const docs: ConversationDoc[] = [];
      for (const held of this.#held.values()) if (held.doc !== null) docs.push(held.doc);
      const shown = this.#page?.shown ?? null;
      if (shown !== null) for (const [id, doc] of shown) if (!this.#held.has(id)) docs.push(doc);
      this.#sorted = docs.sort(byRank);
    }
    this.#view.next({ docs: this.#sorted, through: this.#through });
  }
}
