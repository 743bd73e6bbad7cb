/**
 * An in-memory mirror of the visible conversations, for the live list (`conversationList$`).
 *
 * Why not an RxDB query: its first run reads the whole collection through an index cursor, which
 * IndexedDB (and fake-indexeddb far worse: quadratic) walks one record at a time. The mirror knows
 * the ids from the unread index (itself loaded from a snapshot), reads those documents with one
 * bulk get by primary key, then follows the collection's change events. It starts on the first
 * subscription and is shared by every list subscription.
 */
import { BehaviorSubject, filter, type Observable, type Subscription } from 'rxjs';
import type { RxChangeEventBulk, RxDocumentData } from 'rxdb';
import type { ConversationDoc } from '@convsync/protocol';
import type { ConversationCollection } from '../replica/types.js';
import type { UnreadIndex } from './unread-index.js';

interface Held {
  readonly height: number;
  readonly doc: ConversationDoc | null;
}

function heightOf(rev: string): number {
  const dash = rev.indexOf('-');
  return dash > 0 ? Number(rev.slice(0, dash)) : 0;
}

/** List order: ascending rank (pinned first, newest first), then id. */
export function byRank(a: ConversationDoc, b: ConversationDoc): number {
  return a.rank - b.rank || (a.conversationId < b.conversationId ? -1 : a.conversationId > b.conversationId ? 1 : 0);
}

export class ConversationMirror {
  readonly #collection: ConversationCollection;
  readonly #index: UnreadIndex;
  readonly #onError: (error: unknown) => void;
  readonly #held = new Map<string, Held>();
  /** The sorted visible documents; null until loaded. */
  readonly #docs = new BehaviorSubject<readonly ConversationDoc[] | null>(null);
  #subscription: Subscription | undefined;
  #sorted: ConversationDoc[] | null = null;

  constructor(options: { collection: ConversationCollection; index: UnreadIndex; onError: (error: unknown) => void }) {
    this.#collection = options.collection;
    this.#index = options.index;
    this.#onError = options.onError;
  }

  /** The sorted visible conversations: the current list on subscribe, then after every change. */
  get docs$(): Observable<readonly ConversationDoc[]> {
    this.#start();
    return this.#docs.pipe(filter((docs): docs is readonly ConversationDoc[] => docs !== null));
  }

  dispose(): void {
    this.#subscription?.unsubscribe();
    this.#docs.complete();
  }

  #start(): void {
    if (this.#subscription !== undefined) return;
    let buffered: RxChangeEventBulk<ConversationDoc>[] | null = [];
    this.#subscription = this.#collection.eventBulks$.subscribe((bulk: RxChangeEventBulk<ConversationDoc>) => {
      if (buffered !== null) buffered.push(bulk);
      else if (this.#apply(bulk.events.map((e) => e.documentData))) this.#publish();
    });
    const load = async (): Promise<void> => {
      await this.#index.ready;
      await this.#fetch(this.#index.visibleIds());
      for (const bulk of buffered ?? []) this.#apply(bulk.events.map((e) => e.documentData));
      buffered = null;
      this.#publish();
      // After a crash the index catches up in the background: pick up what it adds or removes.
      await this.#index.caughtUp;
      const known = new Set(this.#index.visibleIds());
      const missing = [...known].filter((id) => this.#held.get(id)?.doc == null);
      let changed = await this.#fetch(missing);
      for (const [id, held] of this.#held) {
        if (held.doc !== null && !known.has(id) && this.#index.facts(id) === undefined) {
          const [current] = await this.#collection.storageInstance.findDocumentsById([id], true);
          if (current === undefined || current._deleted) changed = this.#apply(current === undefined ? [] : [current]) || changed;
        }
      }
      if (changed) this.#publish();
    };
    load().catch((error: unknown) => this.#onError(error));
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
    if (this.#sorted === null) {
      const docs: ConversationDoc[] = [];
      for (const held of this.#held.values()) if (held.doc !== null) docs.push(held.doc);
      this.#sorted = docs.sort(byRank);
    }
    this.#docs.next(this.#sorted);
  }
}
