/**
 * Which of a pulled page's documents the collection surely does not hold yet, so that storing them
 * needs no read first (docs/ARCHITECTURE.md "Replication", fresh sync).
 *
 * Storing is `join(local, incoming)`, so every document is read before it is written. On a device
 * that pulls the log from its start nearly every read finds nothing, and in IndexedDB those reads
 * cost about a tenth of a fresh sync. While such a pull runs, the replicator keeps the set of ids
 * the collection holds: loaded once at the start (a fresh replica holds at most the first page),
 * then grown by every change event of the collection (this engine's writes and other tabs') and by
 * the replicator's own writes. Before a page is stored, one count of the collection checks that
 * the set is complete: when the count is the set's size, an id outside the set is absent and is
 * written as an insert without a read; otherwise (a write whose event has not arrived yet, or a
 * document purged) the page is read as usual. An insert that loses a race all the same is refused
 * by the storage (409) and read and joined again, as any write that loses one.
 */
import { normalizeMangoQuery, prepareQuery, type RxChangeEventBulk, type RxCollection } from 'rxdb';
import type { Subscription } from 'rxjs';

/** Above this many stored documents the set is not loaded: reading the page costs less. */
export const LOCAL_IDS_LIMIT = 1000;

const NONE: ReadonlySet<string> = new Set();

export class LocalIds<Doc> {
  readonly #collection: RxCollection<Doc>;
  #ids: Set<string> | null = null;
  #subscription: Subscription | undefined;

  constructor(collection: RxCollection<Doc>) {
    this.#collection = collection;
  }

  /** Starts keeping the set, if the collection is small enough (else `absent` finds nothing). */
  async track(): Promise<void> {
    this.stop();
    const ids = new Set<string>();
    // Subscribed before the load, so a write in between is in the set either way.
    this.#subscription = this.#collection.eventBulks$.subscribe((bulk: RxChangeEventBulk<Doc>) => {
      for (const event of bulk.events) ids.add(event.documentId);
    });
    const count = await this.#count();
    if (count > LOCAL_IDS_LIMIT) return this.stop();
    const primaryPath = this.#collection.schema.primaryPath as string;
    // Nothing stored (a fresh device): nothing to read.
    const results = count === 0 ? [] : await Promise.all([false, true].map((deleted) => this.#collection.storageInstance.query(this.#prepared(deleted))));
    for (const result of results) {
      for (const doc of result.documents) ids.add((doc as Record<string, unknown>)[primaryPath] as string);
    }
    if (this.#subscription !== undefined) this.#ids = ids;
  }

  /** The ids among `ids` the collection surely does not hold (none when that is not sure). */
  async absent(ids: readonly string[]): Promise<ReadonlySet<string>> {
    const known = this.#ids;
    if (known === null) return NONE;
    if (await this.#count() !== known.size) return NONE;
    const absent = new Set<string>();
    for (const id of ids) if (!known.has(id)) absent.add(id);
    return absent;
  }

  /** Documents the replicator has just stored (their change events may come a little later). */
  stored(ids: Iterable<string>): void {
    if (this.#ids !== null) for (const id of ids) this.#ids.add(id);
  }

  stop(): void {
    this.#subscription?.unsubscribe();
    this.#subscription = undefined;
    this.#ids = null;
  }

  /** Every stored document, deleted ones included (one index range per `_deleted` value). */
  async #count(): Promise<number> {
    const [live, deleted] = await Promise.all([false, true].map((value) => this.#collection.storageInstance.count(this.#prepared(value))));
    return (live?.count ?? 0) + (deleted?.count ?? 0);
  }

  #prepared(deleted: boolean) {
    const schema = this.#collection.schema.jsonSchema;
    return prepareQuery(schema, normalizeMangoQuery(schema, { selector: { _deleted: { $eq: deleted } } as never }));
  }
}
