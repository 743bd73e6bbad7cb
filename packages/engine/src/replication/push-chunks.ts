/**
 * Splits one RxDB push batch into pushes whose rows stay under a byte budget (Limits.MAX_PUSH_BYTES):
 * the server closes a socket whose frame is larger than its buffer, which RxDB would retry forever.
 */
import { utf8Length } from '@convsync/protocol';

/** Consecutive chunks of `rows`, each under `maxBytes` of JSON (a larger single row goes alone). */
export function chunkByBytes<T>(rows: readonly T[], maxBytes: number): T[][] {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let bytes = 0;
  for (const row of rows) {
    // +1: the comma between rows.
    const size = utf8Length(JSON.stringify(row)) + 1;
    if (chunk.length > 0 && bytes + size > maxBytes) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(row);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}
