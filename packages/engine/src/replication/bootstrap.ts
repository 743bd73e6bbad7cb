/**
 * The fresh-device fast path of the pull. RxDB's replication writes every pulled document twice
 * when push is on (into the collection, and its master state into the replication's meta
 * instance), which doubles the storage work of a first sync. A device that has never pulled
 * (RxDB's checkpoint is absent) instead takes every page straight into the collection's storage,
 * pipelined with the next page's request, and hands RxDB only what it must see:
 *
 * - documents are written with the context of RxDB's own downstream writes, so the upstream
 *   skips them (nothing is pushed back) and moves its checkpoint past them;
 * - each carries `_meta.o` = {hash of the replication identifier, revision height 1}, RxDB's mark
 *   of "written from the master, meta not stored yet": a later pulled change of it is applied as
 *   usual, while a later local edit (height 2) is pushed as usual — with no assumed master, which
 *   the server's merge does not need;
 * - a document that already exists locally (an edit made before the first sync, or a bootstrap
 *   interrupted and retried) is refused by the storage (409) and handed to RxDB, which merges it and
 *   then stores the final checkpoint;
 * - when nothing was refused, every document is stored once the last page is: the bootstrap stores
 *   the final checkpoint itself and hands RxDB nothing. (Handing it the last document only to have
 *   the checkpoint stored cost a fork read, a meta read and a meta write, and made the memory
 *   storage index the last page, all between the last page and 'synced'.) A crash before the
 *   checkpoint is stored starts the bootstrap again: its writes are then refused and merged.
 * The writes go to the storage under RxDB's wrapper, because the wrapper would replace `_meta`.
 */
import { now, setCheckpoint, type RxCollection, type RxDocumentData, type RxStorageInstance, type RxStorageInstanceReplicationState } from 'rxdb';
import type { Checkpoint } from '@convsync/protocol';
import { withoutMeta } from './conflict.js';

export interface BootstrapPage<Doc> {
  documents: Doc[];
  checkpoint: Checkpoint;
  hasMore: boolean;
}

export interface BootstrapOptions<Doc> {
  rxCollection: RxCollection<Doc>;
  replication: RxStorageInstanceReplicationState<Doc> | undefined;
  primaryKey: string;
  /** One `sync:pull` page after `checkpoint`. */
  fetchPage: (checkpoint: Checkpoint | null) => Promise<BootstrapPage<Doc>>;
  /** Sees every page's documents (clock, stream gate). */
  onPage: (documents: readonly Doc[]) => void;
}

type Original<Doc> = RxStorageInstance<Doc, unknown, unknown>;

/** Null when the fast path is not available (then the caller pulls the usual way). */
export async function bootstrapPull<Doc>(options: BootstrapOptions<Doc>): Promise<{ documents: Doc[]; checkpoint: Checkpoint } | null> {
  const { rxCollection, replication } = options;
  const original = (rxCollection.storageInstance as unknown as { originalStorageInstance?: Original<Doc> }).originalStorageInstance;
  if (replication === undefined || original === undefined) return null;
  // The first page travels while the write context and the revision hash are worked out.
  const first = options.fetchPage(null);
  first.catch(() => undefined);
  const context = await replication.downstreamBulkWriteFlag;
  const hash = await rxCollection.database.hashFunction(replication.input.identifier);
  const revision = `1-${hash}`;
  const handOver: Doc[] = [];
  let page = await first;
  for (;;) {
    // The next page travels while this one is stored.
    const next = page.hasMore ? options.fetchPage(page.checkpoint) : undefined;
    next?.catch(() => undefined);
    if (page.documents.length > 0) {
      options.onPage(page.documents);
      // The page's documents are fresh objects of this call (parsed from the answer): they become
      // the stored rows in place, one shared `_meta` per page, no copy per document.
      const meta = { lwt: now(), o: { _rev: 1, hash } };
      const rows = new Array<{ document: RxDocumentData<Doc> }>(page.documents.length);
      for (let i = 0; i < rows.length; i++) {
        const document = page.documents[i] as unknown as Record<string, unknown>;
        document['_meta'] = meta;
        document['_rev'] = revision;
        document['_attachments'] = {};
        rows[i] = { document: document as unknown as RxDocumentData<Doc> };
      }
      const result = await rxCollection.database.lockedRun(() => original.bulkWrite(rows, context));
      if (result.error.length > 0) {
        const refused = new Set(result.error.map((error) => error.documentId));
        for (const row of rows) {
          const doc = row.document as unknown as Doc & object;
          if (refused.has((doc as Record<string, unknown>)[options.primaryKey] as string)) handOver.push(withoutMeta(doc));
        }
      }
    }
    if (next === undefined) break;
    page = await next;
  }
  // With documents to merge, RxDB stores the checkpoint once they are merged, not before.
  if (handOver.length === 0) await setCheckpoint(replication, 'down', page.checkpoint);
  return { documents: handOver, checkpoint: page.checkpoint };
}
