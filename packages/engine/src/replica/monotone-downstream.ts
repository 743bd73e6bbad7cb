/**
 * A storage wrapper that keeps RxDB's downstream from moving a replicated document back.
 *
 * RxDB's downstream treats the master as authoritative: when the fork holds no unpushed local
 * write, it stores whatever master state comes next over the fork. That is last-writer-wins by
 * arrival, and arrival order is not server order here: a stream event that left the server before
 * a push's commit may be stored after the push's result (RxDB holds stream events back while it
 * pushes), and a pull page read before a commit may land after it. The app then saw, for a moment,
 * a read time go back to 0 (engine soak seeds 678958022, 1575009262, 1172192550) until the next
 * delivery put it right.
 *
 * Replicated documents are CRDT states: every state the server has passed through is below its
 * current one in the protocol's merge, a join. So a downstream write stores the join of the fork's
 * current state (`previous`, itself a join of states the server had) and the incoming master — never
 * less than what the app has already seen, never more than what the server has. When the incoming
 * state is the newer one, as it almost always is, the join is that state and the row goes through
 * unchanged.
 *
 * The row keeps the revision and `_meta` RxDB gave it (its `_meta.o` marks the fork state as written
 * from the master), so RxDB goes on treating the document as in step with the master: a later master
 * state is applied as usual, a later local edit is pushed as usual with the assumed master RxDB
 * stored — the server merges a push whatever it assumed. Writes of other contexts (local edits,
 * conflict resolutions, which are joins already) are not touched.
 */
import { jsonEqual } from '@convsync/protocol';
import type { BulkWriteRow, RxStorage, RxStorageInstance } from 'rxdb';
import { withoutMeta } from '../replication/conflict.js';

/** The context prefix of RxDB 17's downstream writes into the fork (`state.downstreamBulkWriteFlag`). */
const DOWNSTREAM_CONTEXT = 'replication-downstream-';

/** The protocol's merge of each replicated collection, by collection name. */
export type CollectionMerges = Readonly<Record<string, (a: never, b: never) => unknown>>;

type Merge = (a: object, b: object) => object;

/** The row with the join of the fork's state and the incoming master, or the row itself if that is the master. */
export function raiseDownstreamRow<Doc>(row: BulkWriteRow<Doc>, merge: Merge): BulkWriteRow<Doc> {
  if (row.previous === undefined) return row;
  const incoming = withoutMeta(row.document as object);
  const joined = merge(withoutMeta(row.previous as object), incoming);
  if (jsonEqual(joined, incoming)) return row;
  const { _meta, _rev, _attachments } = row.document;
  return { previous: row.previous, document: { ...joined, _meta, _rev, _attachments } as BulkWriteRow<Doc>['document'] };
}

function guardInstance<Doc, Internals, Options>(instance: RxStorageInstance<Doc, Internals, Options>, merge: Merge): void {
  const bulkWrite = instance.bulkWrite.bind(instance);
  // An own property over the class's method: RxDB's wrappers and the bootstrap call it through the instance.
  instance.bulkWrite = (rows, context) =>
    bulkWrite(context.startsWith(DOWNSTREAM_CONTEXT) ? rows.map((row) => raiseDownstreamRow(row, merge)) : rows, context);
}

/** `storage`, with the downstream writes of the named collections raised to joins. */
export function withMonotoneDownstream<Internals, Options>(storage: RxStorage<Internals, Options>, merges: CollectionMerges): RxStorage<Internals, Options> {
  return {
    name: storage.name,
    rxdbVersion: storage.rxdbVersion,
    async createStorageInstance(params) {
      const instance = await storage.createStorageInstance(params);
      const merge = merges[params.collectionName] as Merge | undefined;
      if (merge !== undefined) guardInstance(instance, merge);
      return instance;
    },
  };
}
