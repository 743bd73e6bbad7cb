/**
 * `sync:pull`: the documents of one of the account's collections changed after a checkpoint, in
 * change-log order. Every filter is in the query before its LIMIT (RxDB stops at the first short
 * page), and a page also stops before `MAX_FRAME_BYTES` of documents — `hasMore` tells the client
 * to continue rather than mistake a byte-capped page for the end.
 *
 * The store keeps each document as the JSON text it was written as. A `format: 'json'` page writes
 * those texts out as they are, in UTF-8 bytes (`packDocuments`); only the objects form parses them,
 * for clients that did not ask for JSON.
 */
import { MAX_FRAME_BYTES, PullFormat, PullOrder, packDocuments, type PullJsonResponse, type PullRequest, type PullResponse } from '@convsync/protocol';
import type { Store } from '../store/store.js';
import { firstPage } from './first-page.js';
import { fitPage } from './page-budget.js';

export interface PullOptions {
  /** Byte budget of one page's documents (tests lower it). */
  maxFrameBytes?: number;
}

export async function pull(store: Store, owner: string, request: PullRequest, options: PullOptions = {}): Promise<PullResponse | PullJsonResponse> {
  if (request.order === PullOrder.RANK) return firstPage(store, owner, request, options);
  const afterSeq = request.checkpoint?.seq ?? 0;
  const budget = options.maxFrameBytes ?? MAX_FRAME_BYTES;
  // One row more than the page tells whether the log goes on: the store reads up to the row that
  // crosses the budget, or one past `batchSize`.
  const rows = await store.read((reader) =>
    reader.pullDocs({ owner, collection: request.collection, afterSeq, limit: request.batchSize + 1, maxBytes: budget }));
  const { rows: taken, texts, bytes, hasMore } = fitPage(rows, request.batchSize, budget);
  const lastSeq = taken.at(-1)?.seq ?? afterSeq;
  const page = { collection: request.collection, checkpoint: { seq: lastSeq }, hasMore };
  if (request.format === PullFormat.JSON) return { ...page, documentsJson: packDocuments(texts, bytes) };
  return { ...page, documents: texts.map((text) => JSON.parse(text) as unknown) } as PullResponse;
}
