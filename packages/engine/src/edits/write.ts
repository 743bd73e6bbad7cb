/**
 * Writes local edits into a replica collection, deleted documents included.
 *
 * Why not `incrementalModify`/`upsert`: an edit must see the document even when it is a tombstone
 * (a deletion's stamps and max-registers decide what a revival looks like), and `_deleted` is an
 * output of `normalizeConversation`, not a separate remove call. So edits read through the
 * collection's storage instance with deleted documents, and write rows with their `previous`
 * version: RxDB's wrapped storage sets `_rev`/`_meta`, emits INSERT (also for a revival), UPDATE or
 * DELETE events on the collection's change stream, and the replicator pushes the row (it is marked
 * dirty in the same write). A row that lost
 * a race (the replication wrote in between: 409) is read again and the edit re-applied.
 *
 * Edits of one collection run one after another (a queue), so limit checks inside an edit (100
 * pinned, 5 groups, …) see the previous edit's result.
 */
import type { RxCollection, RxDocumentData } from 'rxdb';
import { ConvSyncError, ErrorCode, jsonEqual } from '@convsync/protocol';
import { epochOf, nextEpoch } from '../replica/dirty.js';
import { documentOf } from '../replica/rows.js';

/** The RxDB write context of local edits (shows up on change events). */
export const EDIT_CONTEXT = 'convsync-edit';
const MAX_ATTEMPTS = 20;

type Plain<T> = T & { _deleted: boolean };

/**
 * What an edit returns for one document: the next version, or `undefined` to leave it as is.
 * It may throw a ConvSyncError to refuse that document (recorded in `failed`).
 */
export type Edit<T> = (current: T | undefined, id: string) => T | undefined;

export interface EditResult<T> {
  /** The document of each id after the edit (unchanged ones included), absent if it never existed. */
  readonly docs: Map<string, T>;
  /** The ids whose edit refused, with the reason. */
  readonly failed: Map<string, ConvSyncError>;
  /** The ids actually written. */
  readonly written: Set<string>;
}

const queues = new WeakMap<object, Promise<unknown>>();

/**
 * Runs `task` after every earlier task (edit) of the same collection, so a limit checked inside it
 * holds when its edit writes. Inside, write with `applyEditsNow` (not `applyEdits`: it would wait
 * for itself).
 */
export function exclusive<R>(collection: object, task: () => Promise<R>): Promise<R> {
  return enqueue(collection, task);
}

function enqueue<R>(collection: object, task: () => Promise<R>): Promise<R> {
  const previous = queues.get(collection) ?? Promise.resolve();
  const run = previous.then(task, task);
  queues.set(collection, run.catch(() => undefined));
  return run;
}

/** Applies `edit` to each of `ids` (deleted documents included) and writes what changed. */
export function applyEdits<T extends { _deleted: boolean }>(
  collection: RxCollection<T>,
  ids: readonly string[],
  edit: Edit<T>,
): Promise<EditResult<T>> {
  return enqueue(collection, () => runEdits(collection, [...new Set(ids)], edit));
}

/** `applyEdits` for use inside `exclusive`. */
export function applyEditsNow<T extends { _deleted: boolean }>(
  collection: RxCollection<T>,
  ids: readonly string[],
  edit: Edit<T>,
): Promise<EditResult<T>> {
  return runEdits(collection, [...new Set(ids)], edit);
}

/** Reads documents of `ids`, deleted ones included, without meta. */
export async function readWithDeleted<T extends { _deleted: boolean }>(
  collection: RxCollection<T>,
  ids: readonly string[],
): Promise<Map<string, T>> {
  const found = await collection.storageInstance.findDocumentsById([...ids], true);
  const primary = collection.schema.primaryPath as string;
  const map = new Map<string, T>();
  for (const data of found) map.set((data as Record<string, unknown>)[primary] as string, documentOf(data));
  return map;
}

async function runEdits<T extends { _deleted: boolean }>(
  collection: RxCollection<T>,
  ids: string[],
  edit: Edit<T>,
): Promise<EditResult<T>> {
  const docs = new Map<string, T>();
  const failed = new Map<string, ConvSyncError>();
  const written = new Set<string>();
  const primary = collection.schema.primaryPath as string;
  let pending = ids;
  for (let attempt = 0; pending.length > 0; attempt++) {
    if (attempt >= MAX_ATTEMPTS) {
      throw new ConvSyncError(ErrorCode.INTERNAL, 'a local edit kept losing write races', { detail: { ids: pending.slice(0, 10) } });
    }
    const found = await collection.storageInstance.findDocumentsById(pending, true);
    const stored = new Map<string, RxDocumentData<T>>();
    for (const data of found) stored.set((data as Record<string, unknown>)[primary] as string, data);
    const rows: { previous?: RxDocumentData<T>; document: RxDocumentData<T> }[] = [];
    for (const id of pending) {
      const previous = stored.get(id);
      const current = previous === undefined ? undefined : documentOf(previous);
      let next: T | undefined;
      try {
        next = edit(current, id);
      } catch (error) {
        failed.set(id, ConvSyncError.from(error));
        if (current !== undefined) docs.set(id, current);
        continue;
      }
      if (next === undefined || (current !== undefined && jsonEqual(next, current))) {
        if (current !== undefined) docs.set(id, current);
        continue;
      }
      docs.set(id, next);
      // The edit marks the document dirty with a new epoch: the replicator pushes it (replica/dirty.ts).
      const document = {
        ...(next as Plain<T>),
        dirty: nextEpoch(previous === undefined ? 0 : epochOf(previous)),
        _attachments: {},
        _meta: previous?._meta ?? { lwt: 0 },
        _rev: previous?._rev ?? '',
      } as unknown as RxDocumentData<T>;
      rows.push(previous === undefined ? { document } : { previous, document });
    }
    if (rows.length === 0) break;
    const result = await collection.storageInstance.bulkWrite(rows, EDIT_CONTEXT);
    const retry: string[] = [];
    const errorIds = new Set<string>();
    for (const error of result.error) {
      errorIds.add(error.documentId);
      if (error.status === 409) retry.push(error.documentId);
      else failed.set(error.documentId, new ConvSyncError(ErrorCode.INTERNAL, `local write failed (${error.status})`, { detail: { id: error.documentId } }));
    }
    for (const row of rows) {
      const id = (row.document as Record<string, unknown>)[primary] as string;
      if (!errorIds.has(id)) written.add(id);
    }
    pending = retry;
  }
  return { docs, failed, written };
}
