/**
 * Dirty marks: a replicated document that holds a local edit the server has not acknowledged
 * carries `dirty` = the epoch of that edit (0 = clean). The mark lives in the document itself, so
 * it is written in the same write as the edit, survives a crash, and is seen by every tab sharing
 * the replica. Every local edit gives a new epoch; the replicator clears a mark only if the epoch
 * it pushed is still the one stored, so an edit made while its previous state was on the wire is
 * pushed next.
 *
 * Found two ways: groups (a hundred at most) by an index on `dirty`; conversations through the
 * unread index (`DirtyMarks`, views/unread-index.ts), which follows every change and is
 * snapshotted with a storage checkpoint — an index on `dirty` cost every stored conversation
 * an index entry, a fifth of a fresh sync in memory, for the handful that are ever dirty at once.
 */
import { normalizeMangoQuery, prepareQuery, type RxCollection, type RxDocumentData } from 'rxdb';

/** Where the dirty marks of a collection are kept track of, outside the collection's indexes. */
export interface DirtyMarks {
  /** Resolves once every mark stored before is known (a start's catch-up done). */
  readonly caughtUp: Promise<void>;
  /** The ids with a mark, oldest epoch first. */
  dirtyIds(): string[];
}

/**
 * Marks whose keeper is opened after the sync that reads them (the engine opens the unread index
 * once the sync's first page is attached, which the index waits for): `caughtUp` waits for `use`.
 */
export class LateMarks implements DirtyMarks {
  #marks: DirtyMarks | undefined;
  #use: (marks: DirtyMarks) => void = () => undefined;
  readonly #ready = new Promise<DirtyMarks>((resolve) => {
    this.#use = resolve;
  });

  use(marks: DirtyMarks): void {
    this.#marks = marks;
    this.#use(marks);
  }

  get caughtUp(): Promise<void> {
    return this.#ready.then((marks) => marks.caughtUp);
  }

  dirtyIds(): string[] {
    return this.#marks?.dirtyIds() ?? [];
  }
}

/** The name of the field (schema version 1 on). */
export const DIRTY = 'dirty';

/** The field as the replicated schemas declare it (Dexie wants numeric indexes bounded and required). */
export const DIRTY_FIELD = { type: 'number', multipleOf: 1, minimum: 0, maximum: 8.64e15 } as const;

/**
 * The epoch of a new edit of a document whose mark is `previous`: never equal to it, and (the
 * millisecond clock, or one more) above any epoch an earlier edit of it gave, so a mark once
 * cleared and set again never looks like the old one to a replicator still holding that.
 */
export function nextEpoch(previous: number | undefined, nowMs: number = Date.now()): number {
  return Math.max(Math.floor(nowMs), (previous ?? 0) + 1);
}

/** The dirty epoch of a stored document (0 when clean or written before marks existed). */
export function epochOf(stored: object): number {
  const value = (stored as { dirty?: unknown }).dirty;
  return typeof value === 'number' ? value : 0;
}

/**
 * Up to `limit` dirty documents, deleted ones included (a local deletion is an edit to push),
 * oldest epoch first. Reads the storage through its index on `dirty`: one range per `_deleted`
 * value, as RxDB prefixes every index with `_deleted`.
 */
export async function findDirty<Doc>(collection: RxCollection<Doc>, limit: number): Promise<RxDocumentData<Doc>[]> {
  const schema = collection.schema.jsonSchema;
  const found: RxDocumentData<Doc>[] = [];
  for (const deleted of [false, true]) {
    const query = normalizeMangoQuery(schema, {
      selector: { _deleted: { $eq: deleted }, [DIRTY]: { $gt: 0 } } as never,
      sort: [{ [DIRTY]: 'asc' } as never],
      limit: limit - found.length,
    });
    const result = await collection.storageInstance.query(prepareQuery(schema, query));
    found.push(...result.documents);
    if (found.length >= limit) break;
  }
  return found;
}

/**
 * Up to `limit` dirty documents named by `marks`, deleted ones included, oldest epoch first: read
 * by id, a batch at a time, and kept only if still dirty as stored (a mark just cleared, whose
 * change the marks have not seen yet, is skipped, and the next ones are read instead).
 */
export async function findMarked<Doc>(collection: RxCollection<Doc>, marks: DirtyMarks, limit: number): Promise<RxDocumentData<Doc>[]> {
  await marks.caughtUp;
  const ids = marks.dirtyIds();
  const found: RxDocumentData<Doc>[] = [];
  for (let from = 0; from < ids.length && found.length < limit; from += limit) {
    const batch = await collection.storageInstance.findDocumentsById(ids.slice(from, from + limit), true);
    found.push(...batch.filter((doc) => epochOf(doc) > 0));
  }
  return found.sort((a, b) => epochOf(a) - epochOf(b)).slice(0, limit);
}
