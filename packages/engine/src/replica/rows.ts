/**
 * A replicated document and its stored row: the row is the document plus its dirty mark
 * (replica/dirty.ts) and RxDB's meta (`_meta`, `_rev`, `_attachments`). The edits and the
 * replicator make rows and read documents back through these two functions only.
 */
import type { RxDocumentData } from 'rxdb';

/** What a row carries besides its document. */
export interface RowMeta {
  dirty: number;
  _attachments: Record<string, never>;
  _meta: RxDocumentData<object>['_meta'];
  _rev: string;
}

/** A row's document, as it travels and as the edits and merges see it (`_deleted` stays). */
export function documentOf<T>(row: RxDocumentData<T>): T {
  const { _meta: _m, _rev: _r, _attachments: _a, dirty: _d, ...doc } = row as RxDocumentData<T> & { dirty?: number };
  return doc as unknown as T;
}

/**
 * `doc` made its row in place (for a document nothing else holds, such as one parsed from a pulled
 * page: a copy per document was a fifth of a fresh sync), by named stores. Not `Object.assign`:
 * V8 treats its stores as keyed, and a keyed store that adds a property no object of that shape
 * had before turns an object with more than 12 properties outside its own slots into a dictionary
 * — which a parsed document can be, since JSON.parse reuses whatever shape the same keys already
 * have. Such a row is slower to read: the first edit of each conversation a fresh device's first
 * page brought took ≈45 µs instead of ≈38 (in memory, 10k conversations).
 */
export function toRowInPlace<T>(doc: T, meta: RowMeta): RxDocumentData<T> {
  const row = doc as T & RowMeta;
  row.dirty = meta.dirty;
  row._attachments = meta._attachments;
  row._meta = meta._meta;
  row._rev = meta._rev;
  return row as unknown as RxDocumentData<T>;
}
