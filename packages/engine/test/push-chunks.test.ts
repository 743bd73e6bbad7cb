import { describe, expect, it } from 'vitest';
import { chunkByBytes } from '../src/replication/push-chunks.js';

describe('push chunks', () => {
  it('keeps rows in order, each chunk under the byte budget of its JSON', () => {
    const rows = Array.from({ length: 10 }, (_, i) => ({ i, text: 'x'.repeat(40) }));
    const chunks = chunkByBytes(rows, 150);
    expect(chunks.flat()).toEqual(rows);
    for (const chunk of chunks) expect(JSON.stringify(chunk).length).toBeLessThanOrEqual(150);
    expect(chunks.length).toBeGreaterThan(1);
  });

  it('counts UTF-8 bytes and JSON escapes, not characters', () => {
    // 33 characters of JSON each, but 63 bytes of UTF-8; and 30 control characters are 180 bytes.
    expect(chunkByBytes(['é'.repeat(30), 'é'.repeat(30)], 100)).toHaveLength(2);
    expect(chunkByBytes(['a'.repeat(30), 'a'.repeat(30)], 100)).toHaveLength(1);
    expect(chunkByBytes(['\u0001'.repeat(10), '\u0001'.repeat(10)], 100)).toHaveLength(2);
  });

  it('sends a row larger than the budget alone rather than never', () => {
    expect(chunkByBytes(['a', 'b'.repeat(500), 'c'], 100)).toEqual([['a'], ['b'.repeat(500)], ['c']]);
  });
});
