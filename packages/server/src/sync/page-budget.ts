/**
 * What fits in one pull page: at most `batchSize` documents and at most `budget` bytes of their
 * JSON, except that the first always fits (a page never stalls on one large document). The store
 * reads one row more than the page, so `hasMore` is whether any row was left out.
 */
export interface FittedPage<R> {
  rows: R[];
  texts: string[];
  bytes: number;
  hasMore: boolean;
}

export function fitPage<R extends { json: string }>(rows: readonly R[], batchSize: number, budget: number): FittedPage<R> {
  const taken: R[] = [];
  const texts: string[] = [];
  let bytes = 0;
  for (const row of rows) {
    if (texts.length === batchSize) break;
    const size = Buffer.byteLength(row.json);
    if (texts.length > 0 && bytes + size > budget) break;
    taken.push(row);
    texts.push(row.json);
    bytes += size;
  }
  return { rows: taken, texts, bytes, hasMore: rows.length > texts.length };
}
