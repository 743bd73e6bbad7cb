/**
 * The documents of a collection written after a storage checkpoint, in write order — what RxDB's
 * `getChangedDocumentsSince` reads, by two index ranges instead of one scan.
 *
 * RxDB asks it as one `$or` selector ("a later millisecond, or the checkpoint's millisecond and a
 * later id"), which its query planner cannot turn into an index range: the storage walks the whole
 * `[_meta.lwt, primary key]` index and tests every document. On IndexedDB, where a cursor pays a
 * round trip per step, a start that found nothing new behind its unread snapshot still walked all
 * 10,000 conversations (130–270 ms, ahead of the list's top page). Here each part is a range of
 * that index (RxDB gives it to every collection): the rest of the checkpoint's millisecond, then
 * the later ones. A storage write stamps one `lwt` on a whole bulk, so the first part matters.
 */
import { normalizeMangoQuery, prepareQuery, type RxCollection, type RxDocumentData, type RxStorageDefaultCheckpoint } from 'rxdb';

export interface Changes<Doc> {
  /** Deleted ones included, in write order. */
  readonly documents: RxDocumentData<Doc>[];
  /** The position of the last document; the given checkpoint when there is none. */
  readonly checkpoint: RxStorageDefaultCheckpoint | undefined;
}

/** Up to `limit` documents written after `checkpoint` (from the first write when undefined). */
export async function changedSince<Doc>(
  collection: RxCollection<Doc>,
  limit: number,
  checkpoint: RxStorageDefaultCheckpoint | undefined,
): Promise<Changes<Doc>> {
  const schema = collection.schema.jsonSchema;
  const primary = collection.schema.primaryPath as string;
  const read = async (selector: Record<string, unknown>, count: number): Promise<RxDocumentData<Doc>[]> => {
    const query = normalizeMangoQuery(schema, {
      selector: selector as never,
      sort: [{ '_meta.lwt': 'asc' } as never, { [primary]: 'asc' } as never],
      limit: count,
    });
    return (await collection.storageInstance.query(prepareQuery(schema, query))).documents;
  };
  const documents = checkpoint === undefined ? [] : await read({ '_meta.lwt': { $eq: checkpoint.lwt }, [primary]: { $gt: checkpoint.id } }, limit);
  if (documents.length < limit) documents.push(...(await read({ '_meta.lwt': { $gt: checkpoint?.lwt ?? 0 } }, limit - documents.length)));
  const last = documents[documents.length - 1];
  return {
    documents,
    checkpoint: last === undefined ? checkpoint : { id: (last as Record<string, unknown>)[primary] as string, lwt: last._meta.lwt },
  };
}
