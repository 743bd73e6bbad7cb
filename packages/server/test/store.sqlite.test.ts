import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStoreConformance } from '../src/store/conformance.js';
import { openSqliteStore } from '../src/store/sqlite.js';

runStoreConformance('sqlite :memory:', async () => ({ store: openSqliteStore({ path: ':memory:' }) }));

runStoreConformance('sqlite file (WAL)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'convsync-store-'));
  return {
    store: openSqliteStore({ path: join(dir, 'store.sqlite') }),
    teardown: () => rm(dir, { recursive: true, force: true }),
  };
});
