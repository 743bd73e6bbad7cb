import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runStoreConformance } from '../src/store/conformance.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import type { Store } from '../src/store/store.js';

runStoreConformance('sqlite :memory:', async () => ({ store: openSqliteStore({ path: ':memory:' }) }));

runStoreConformance('sqlite file (WAL)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'convsync-store-'));
  return {
    store: openSqliteStore({ path: join(dir, 'store.sqlite') }),
    teardown: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('sqlite: several connections on one file', () => {
  const dirs: string[] = [];
  const stores: Store[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('waits for another connection\'s write lock without blocking the event loop, and keeps seqs gap-free', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'convsync-store-'));
    dirs.push(dir);
    const path = join(dir, 'shared.sqlite');
    const a = openSqliteStore({ path });
    const b = openSqliteStore({ path });
    stores.push(a, b);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    let locked!: () => void;
    const holding = new Promise<void>((resolve) => { locked = resolve; });
    // A holds the write lock across a real wait (a timer), which needs the event loop.
    const slow = a.transaction(async (tx) => {
      await tx.advanceSeqs('conversations', [{ owner: 'alice', count: 1 }]);
      locked();
      await gate;
    });
    await holding;
    const waiting = b.transaction((tx) => tx.advanceSeqs('conversations', [{ owner: 'alice', count: 1 }]));
    setTimeout(release, 50);
    await slow;
    expect(await waiting).toEqual([{ owner: 'alice', prev: 1, last: 2 }]);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) =>
      (i % 2 === 0 ? a : b).transaction(async (tx) => (await tx.advanceSeqs('conversations', [{ owner: 'alice', count: 1 }]))[0]?.last)));
    expect([...results].sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual(Array.from({ length: 40 }, (_, i) => i + 3));
  });
});
