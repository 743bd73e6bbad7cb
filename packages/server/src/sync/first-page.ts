/**
 * The first-sync page (`sync:pull` with `order: 'rank'`, docs/ARCHITECTURE.md "First sync"): the
 * account's top conversations in list order, with the log position and the unread totals read in
 * the same snapshot. Every part is an index range or a primary-key lookup (`docs_by_rank`, `logs`,
 * `unread_totals`), so its cost does not grow with the account.
 */
import {
  Collection,
  MAX_FRAME_BYTES,
  PullFormat,
  invalidParameter,
  packDocuments,
  type PullJsonResponse,
  type PullRequest,
  type PullResponse,
  type UnreadTotals,
} from '@convsync/protocol';
import type { Store, UnreadCell } from '../store/store.js';
import { fitPage } from './page-budget.js';
import type { PullOptions } from './pull.js';

function totalsOf(cells: readonly UnreadCell[]): UnreadTotals {
  let total = 0;
  for (const cell of cells) if (cell.groupId === null) total += cell.unread;
  return { total, cells: cells as UnreadTotals['cells'] };
}

export async function firstPage(store: Store, owner: string, request: PullRequest, options: PullOptions = {}): Promise<PullResponse | PullJsonResponse> {
  if (request.collection !== Collection.CONVERSATIONS) {
    throw invalidParameter("order 'rank' is for the conversations collection", { collection: request.collection });
  }
  if (request.checkpoint !== null) {
    throw invalidParameter("order 'rank' is the first page of a device with no checkpoint: give checkpoint null");
  }
  const budget = options.maxFrameBytes ?? MAX_FRAME_BYTES;
  const { rows, seq, cells } = await store.read(async (reader) => ({
    rows: await reader.rankPage(owner, request.batchSize + 1),
    seq: await reader.currentSeq(owner, Collection.CONVERSATIONS),
    cells: await reader.unreadTotals(owner),
  }));
  const { texts, bytes, hasMore } = fitPage(rows, request.batchSize, budget);
  const page = {
    collection: Collection.CONVERSATIONS,
    checkpoint: { seq },
    hasMore,
    unread: totalsOf(cells),
  };
  if (request.format === PullFormat.JSON) return { ...page, documentsJson: packDocuments(texts, bytes) };
  return { ...page, documents: texts.map((text) => JSON.parse(text) as unknown) } as PullResponse;
}
