/**
 * `sync:pull`: the documents of one of the account's collections changed after a checkpoint, in
 * change-log order. Every filter is in the query before its LIMIT (RxDB stops at the first short
 * page), and a page also stops before `MAX_FRAME_BYTES` of documents — `hasMore` tells the client
 * to continue rather than mistake a byte-capped page for the end.
 */
import { MAX_FRAME_BYTES, type PullRequest, type PullResponse } from '@convsync/protocol';
import type { Store } from '../store/store.js';

export interface PullOptions {
  /** Byte budget of one page's documents (tests lower it). */
  maxFrameBytes?: number;
}

export async function pull(store: Store, owner: string, request: PullRequest, options: PullOptions = {}): Promise<PullResponse> {
  const afterSeq = request.checkpoint?.seq ?? 0;
  const budget = options.maxFrameBytes ?? MAX_FRAME_BYTES;
  // One row more than asked tells whether the log goes on.
  const rows = await store.read((reader) =>
    reader.pullDocs({ owner, collection: request.collection, afterSeq, limit: request.batchSize + 1 }));
  const documents: unknown[] = [];
  let bytes = 0;
  let lastSeq = afterSeq;
  for (const row of rows.slice(0, request.batchSize)) {
    const size = Buffer.byteLength(row.json);
    if (documents.length > 0 && bytes + size > budget) break;
    documents.push(JSON.parse(row.json));
    bytes += size;
    lastSeq = row.seq;
  }
  return {
    collection: request.collection,
    documents,
    checkpoint: { seq: lastSeq },
    hasMore: rows.length > documents.length,
  } as PullResponse;
}
