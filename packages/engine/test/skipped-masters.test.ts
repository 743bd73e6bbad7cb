import { describe, expect, it } from 'vitest';
import { SkippedMasters } from '../src/replication/skipped-masters.js';

/** A toy document: the merge keeps the larger version (a join-semilattice, like the protocol's). */
interface Doc {
  id: string;
  v: number;
}

let clock = 0;

function tracker(recentLimit = 10): SkippedMasters<Doc> {
  return new SkippedMasters<Doc>({ merge: (a, b) => (a.v >= b.v ? a : b), idOf: (doc) => doc.id, recentLimit, recentMs: 1000, now: () => clock });
}

const result = (...docs: Doc[]) => new Map(docs.map((doc) => [doc.id, doc]));

describe('skipped master states', () => {
  it('a state delivered while a local write is unpushed is ready once the push answered with an older one', () => {
    const t = tracker();
    t.localWrite(['a']);
    const epochs = t.pushing(['a']);
    t.delivered([{ id: 'a', v: 5 }]);
    expect(t.pushed(epochs, result({ id: 'a', v: 3 }))).toBe(true);
    expect(t.withReady([])).toEqual([{ id: 'a', v: 5 }]);
    expect(t.hasReady).toBe(false);
  });

  it('nothing is pulled again when the push result already holds what was delivered during it', () => {
    const t = tracker();
    t.localWrite(['a']);
    const epochs = t.pushing(['a']);
    t.delivered([{ id: 'a', v: 5 }]);
    expect(t.pushed(epochs, result({ id: 'a', v: 7 }))).toBe(false);
    expect(t.withReady([])).toEqual([]);
  });

  it('nothing is pulled again after a push during which nothing of its documents was delivered', () => {
    const t = tracker();
    t.localWrite(['a']);
    expect(t.pushed(t.pushing(['a']), result({ id: 'a', v: 7 }))).toBe(false);
    expect(t.withReady([])).toEqual([]);
  });

  it('nothing is pulled again when the only state delivered during a push was its own echo', () => {
    const t = tracker();
    t.localWrite(['a']);
    const epochs = t.pushing(['a']);
    t.delivered([{ id: 'a', v: 7 }]);
    t.delivered([{ id: 'a', v: 7 }]);
    expect(t.pushed(epochs, result({ id: 'a', v: 7 }))).toBe(false);
  });

  it('a delivery older than the recent window is not counted for a later local write', () => {
    const t = tracker();
    t.delivered([{ id: 'a', v: 5 }]);
    clock += 5000;
    t.localWrite(['a']);
    expect(t.pushed(t.pushing(['a']), result({ id: 'a', v: 3 }))).toBe(false);
  });

  it('a document written again during its push waits for the next push', () => {
    const t = tracker();
    t.localWrite(['a']);
    const first = t.pushing(['a']);
    t.delivered([{ id: 'a', v: 5 }]);
    t.localWrite(['a']);
    expect(t.pushed(first, result({ id: 'a', v: 3 }))).toBe(false);
    const second = t.pushing(['a']);
    expect(t.pushed(second, result({ id: 'a', v: 4 }))).toBe(true);
    expect(t.withReady([])).toEqual([{ id: 'a', v: 5 }]);
  });

  it('a state handed over just before a local write counts as delivered during it', () => {
    const t = tracker();
    t.delivered([{ id: 'a', v: 5 }]);
    t.localWrite(['a']);
    const epochs = t.pushing(['a']);
    expect(t.pushed(epochs, result({ id: 'a', v: 3 }))).toBe(true);
    expect(t.withReady([])).toEqual([{ id: 'a', v: 5 }]);
  });

  it('forgets deliveries older than its recent window', () => {
    const t = tracker(2);
    t.delivered([{ id: 'a', v: 5 }, { id: 'b', v: 1 }, { id: 'c', v: 1 }]);
    t.localWrite(['a']);
    expect(t.pushed(t.pushing(['a']), result({ id: 'a', v: 3 }))).toBe(false);
    expect(t.withReady([])).toEqual([]);
  });

  it('a ready state absorbs later deliveries and joins a pulled copy of the same document', () => {
    const t = tracker();
    t.localWrite(['a', 'b']);
    const epochs = t.pushing(['a', 'b']);
    t.delivered([{ id: 'a', v: 5 }, { id: 'b', v: 5 }]);
    expect(t.pushed(epochs, result({ id: 'a', v: 1 }, { id: 'b', v: 1 }))).toBe(true);
    t.delivered([{ id: 'a', v: 9 }]);
    expect(t.withReady([{ id: 'b', v: 2 }, { id: 'c', v: 1 }])).toEqual([{ id: 'b', v: 5 }, { id: 'c', v: 1 }, { id: 'a', v: 9 }]);
  });

  it('a ready state absorbs a later push of the same document, so it never takes that write back', () => {
    const t = tracker();
    t.localWrite(['a']);
    const first = t.pushing(['a']);
    t.delivered([{ id: 'a', v: 5 }]);
    expect(t.pushed(first, result({ id: 'a', v: 3 }))).toBe(true);
    // A newer local write is pushed and settles before the pull that hands 'a' over.
    t.localWrite(['a']);
    expect(t.pushed(t.pushing(['a']), result({ id: 'a', v: 8 }))).toBe(true);
    expect(t.withReady([])).toEqual([{ id: 'a', v: 8 }]);
  });

  it('documents a push carried that were never written here (a restart) settle without anything ready', () => {
    const t = tracker();
    expect(t.pushed(t.pushing(['a']), result({ id: 'a', v: 1 }))).toBe(false);
    expect(t.hasReady).toBe(false);
  });
});
