/**
 * The PostgreSQL store: the shared conformance suite, plus what only a concurrent backend can get
 * wrong — migrations raced by several processes, owners that must not wait for each other, no lost
 * update under the log lock, no reader skipping a change, deadlock reruns, batched round trips.
 *
 * Runs against the real PostgreSQL (CONVSYNC_TEST_PG, default postgres://postgres@127.0.0.1:5432/test),
 * never skipped: an unreachable database fails the suite. Every test gets a fresh schema, dropped
 * in teardown, so parallel files never collide.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runStoreConformance } from '../src/store/conformance.js';
import { MIGRATIONS } from '../src/store/postgres-schema.js';
import { openPostgresStore } from '../src/store/postgres.js';
import type { Store, StoreObserver, StoreRetryReason } from '../src/store/store.js';

const PG_URL = process.env.CONVSYNC_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUN = `t${process.pid.toString(36)}${Date.now().toString(36)}`;
let schemas = 0;

const admin = new pg.Pool({ connectionString: PG_URL, max: 2 });
admin.on('error', () => undefined);

beforeAll(async () => {
  try {
    await admin.query('SELECT 1');
  } catch (error) {
    throw new Error(`PostgreSQL is required for this suite and did not answer at ${PG_URL}: ${String(error)}`);
  }
});

afterAll(async () => {
  await admin.end();
});

function freshSchema(): string {
  schemas++;
  return `convsync_${RUN}_${schemas}`;
}

async function dropSchema(schema: string): Promise<void> {
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
}

runStoreConformance('postgres', async () => {
  const schema = freshSchema();
  return { store: await openPostgresStore({ url: PG_URL, schema }), teardown: () => dropSchema(schema) };
});

describe('postgres store', () => {
  const stores: Store[] = [];
  const dropped: string[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await Promise.all(dropped.splice(0).map(dropSchema));
  });

  async function open(schema = freshSchema(), poolSize?: number, observer?: StoreObserver): Promise<Store> {
    if (!dropped.includes(schema)) dropped.push(schema);
    const store = await openPostgresStore({
      url: PG_URL, schema, ...(poolSize === undefined ? {} : { poolSize }), ...(observer === undefined ? {} : { observer }),
    });
    stores.push(store);
    return store;
  }

  it('migrates once when several processes start on one schema at the same time, and again is a no-op', async () => {
    const schema = freshSchema();
    await Promise.all(Array.from({ length: 4 }, () => open(schema, 2)));
    await open(schema, 1);
    const { rows } = await admin.query<{ version: number }>(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`);
    expect(rows.map((row) => row.version)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('takes the schema and the pool size from the URL\'s parameters', async () => {
    const schema = freshSchema();
    dropped.push(schema);
    await expect(openPostgresStore({ url: `${PG_URL}?schema=${schema}&pool=0` })).rejects.toMatchObject({ code: 191004 });
    // The URL's own server options are kept next to the schema's search_path.
    const store = await openPostgresStore({ url: `${PG_URL}?schema=${schema}&pool=3&options=${encodeURIComponent('-c application_name=convsync_test')}` });
    stores.push(store);
    await store.transaction(async (tx) => {
      await tx.advanceSeqs('conversations', [{ owner: 'alice', count: 2 }]);
    });
    const { rows: sessions } = await admin.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'convsync_test'");
    expect(sessions[0]?.n).toBeGreaterThanOrEqual(1);
    const { rows } = await admin.query<{ seq: string }>(`SELECT seq FROM ${schema}.logs WHERE owner = 'alice'`);
    expect(rows.map((row) => Number(row.seq))).toEqual([2]);
  });

  it('refuses a malformed URL, a schema name it cannot quote, and an unreachable server, with clear errors', async () => {
    await expect(openPostgresStore({ url: PG_URL, schema: 'bad; drop' })).rejects.toMatchObject({ code: 191004 });
    await expect(openPostgresStore({ url: 'postgres://[bad' })).rejects.toMatchObject({ code: 191004, desc: 'the PostgreSQL URL is malformed' });
    await expect(openPostgresStore({ url: 'postgres://postgres@127.0.0.1:1/test' }))
      .rejects.toMatchObject({ desc: 'PostgreSQL store could not start' });
  });

  it('lets a writer of one owner commit while another owner\'s log is locked', async () => {
    const store = await open();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    let locked!: () => void;
    const holding = new Promise<void>((resolve) => { locked = resolve; });
    const alice = store.transaction(async (tx) => {
      await tx.lockLogs('conversations', ['alice']);
      await tx.advanceSeqs('conversations', [{ owner: 'alice', count: 1 }]);
      locked();
      await gate;
    });
    await holding;
    // Bob's transaction completes although alice's is still open: it never waits on her lock.
    const bob = await store.transaction(async (tx) => {
      await tx.lockLogs('conversations', ['bob']);
      return tx.advanceSeqs('conversations', [{ owner: 'bob', count: 1 }]);
    });
    expect(bob).toEqual([{ owner: 'bob', prev: 0, last: 1 }]);
    release();
    await alice;
  });

  it('loses no update when many writers read-modify-write one owner\'s document under the log lock', async () => {
    const store = await open(freshSchema(), 8);
    await Promise.all(Array.from({ length: 40 }, () => store.transaction(async (tx) => {
      await tx.lockLogs('conversations', ['alice']);
      const [row] = await tx.getDocs('conversations', [{ owner: 'alice', id: 'counter' }]);
      const value = row === undefined ? 0 : (JSON.parse(row.json) as { n: number }).n;
      const [range] = await tx.advanceSeqs('conversations', [{ owner: 'alice', count: 1 }]);
      await tx.putDocs('conversations', [{ owner: 'alice', id: 'counter', seq: range?.last ?? 0, json: JSON.stringify({ n: value + 1 }) }]);
    })));
    const [row] = await store.read((r) => r.getDocs('conversations', [{ owner: 'alice', id: 'counter' }]));
    expect(row).toMatchObject({ seq: 40, json: '{"n":40}' });
  });

  it('never lets a reader that resumes from its checkpoint skip a change of concurrent writers', async () => {
    const store = await open(freshSchema(), 8);
    const writes = 120;
    let done = false;
    const writers = Promise.all(Array.from({ length: writes }, (_, i) => store.transaction(async (tx) => {
      await tx.lockLogs('conversations', ['alice']);
      const [range] = await tx.advanceSeqs('conversations', [{ owner: 'alice', count: 1 }]);
      // Some writers dawdle after taking their position: a global sequence would commit out of order here.
      if (i % 3 === 0) await new Promise((resolve) => setImmediate(resolve));
      await tx.putDocs('conversations', [{ owner: 'alice', id: `d${i}`, seq: range?.last ?? 0, json: '{}' }]);
    }))).finally(() => { done = true; });
    const seen = new Set<string>();
    let checkpoint = 0;
    for (;;) {
      const finished = done;
      const page = await store.read((r) => r.pullDocs({ owner: 'alice', collection: 'conversations', afterSeq: checkpoint, limit: 7 }));
      for (const doc of page) {
        expect(doc.seq).toBe(checkpoint + 1);
        checkpoint = doc.seq;
        seen.add(doc.id);
      }
      if (finished && page.length === 0) break;
    }
    await writers;
    expect(seen.size).toBe(writes);
  });

  it('reruns a transaction that PostgreSQL aborted to break a deadlock, and reports each rerun', async () => {
    const retries: StoreRetryReason[] = [];
    const store = await open(freshSchema(), 4, { onRetry: (reason) => retries.push(reason) });
    let bothHoldOne!: () => void;
    let holders = 0;
    const met = new Promise<void>((resolve) => { bothHoldOne = resolve; });
    const runs = { first: 0, second: 0 };
    // Locking one owner per call, in opposite orders, defeats the sorted order of a single call.
    const crossing = (label: 'first' | 'second', a: string, b: string) => store.transaction(async (tx) => {
      runs[label]++;
      await tx.lockLogs('conversations', [a]);
      if (++holders === 2) bothHoldOne();
      await met;
      await tx.lockLogs('conversations', [b]);
      return tx.advanceSeqs('conversations', [{ owner: a, count: 1 }, { owner: b, count: 1 }]);
    });
    const [first, second] = await Promise.all([crossing('first', 'alice', 'bob'), crossing('second', 'bob', 'alice')]);
    // At least one rerun (a rerun may collide once more before the other transaction commits).
    expect(runs.first + runs.second).toBeGreaterThanOrEqual(3);
    expect([...(first ?? []), ...(second ?? [])].map((r) => r.last).sort()).toEqual([1, 1, 2, 2]);
    // Every rerun was reported, as a deadlock (what the server counts in convsync_store_retries_total).
    expect(retries.length).toBe(runs.first + runs.second - 2);
    expect(new Set(retries)).toEqual(new Set(['deadlock']));
  });

  it('answers a send raced with the same client id with the first message instead of an error', async () => {
    const store = await open(freshSchema(), 4);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    let inserted!: () => void;
    const firstInserted = new Promise<void>((resolve) => { inserted = resolve; });
    const send = (id: string, wait: boolean) => store.transaction(async (tx) => {
      const existing = await tx.findMessageByClientId('alice', 'c1');
      if (existing !== undefined) return `found ${existing.messageServerId}`;
      await tx.insertMessage({ conversationKey: 'k', messageServerId: id, senderId: 'alice', clientMessageId: 'c1', createTime: 1, json: '{}' });
      if (wait) {
        inserted();
        await gate;
      }
      return `inserted ${id}`;
    });
    const first = send('m1', true);
    await firstInserted;
    const second = send('m2', false);
    release();
    expect(await Promise.all([first, second])).toEqual(['inserted m1', 'found m1']);
  });

  it('runs a commit hook only once the commit is visible to every other connection', async () => {
    const schema = freshSchema();
    const store = await open(schema, 4);
    let seenFromHook: Promise<string | undefined> | undefined;
    await store.transaction(async (tx) => {
      await tx.lockLogs('conversations', ['alice']);
      await tx.putDocs('conversations', [{ owner: 'alice', id: 'a', seq: 1, json: '{"v":1}' }]);
      // What a stream listener does: another process pulls as soon as the event arrives.
      tx.afterCommit(() => {
        seenFromHook = admin.query<{ doc: string }>(`SELECT doc FROM ${schema}.docs WHERE owner = 'alice'`)
          .then((result) => result.rows[0]?.doc);
      });
    });
    expect(await seenFromHook).toBe('{"v":1}');
  });

  it('writes a team message\'s worth of owners (1,000) in a handful of round trips', async () => {
    const store = await open();
    const owners = Array.from({ length: 1000 }, (_, i) => `member${i.toString().padStart(4, '0')}`);
    const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
    const query = proto.query;
    let statements = 0;
    proto.query = function counted(this: unknown, ...args: unknown[]) {
      statements++;
      return query.apply(this, args);
    };
    try {
      await store.transaction(async (tx) => {
        await tx.lockLogs('conversations', owners);
        const stored = await tx.getDocs('conversations', owners.map((owner) => ({ owner, id: `${owner}|2|team` })));
        expect(stored.every((doc) => doc === undefined)).toBe(true);
        const orders = await tx.nextSortOrders(owners, 5000);
        expect(orders.every((order) => order === 5000)).toBe(true);
        const ranges = await tx.advanceSeqs('conversations', owners.map((owner) => ({ owner, count: 1 })));
        await tx.putDocs('conversations', ranges.map((range) => ({ owner: range.owner, id: `${range.owner}|2|team`, seq: range.last, json: '{}' })));
      });
    } finally {
      proto.query = query;
    }
    // BEGIN, five statements, COMMIT.
    expect(statements).toBeLessThanOrEqual(7);
    expect(await store.read((r) => r.currentSeq('member0999', 'conversations'))).toBe(1);
  });
});
