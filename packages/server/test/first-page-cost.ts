/**
 * What the first-sync page costs the server as an account grows (docs/ARCHITECTURE.md "First
 * sync"): one store holds three accounts of 1,000, 10,000 and 100,000 conversations (plus their
 * unread totals over five groups), and the page of 50 (`sync:pull` with `order: 'rank'`, the
 * handler itself, JSON format) is timed for each, on SQLite and on PostgreSQL. Prints the query
 * plans too. Not a test (timings depend on the machine); run it by hand:
 *
 *   node --conditions=source --import tsx packages/server/test/first-page-cost.ts [--sizes 1000,10000,100000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { emptyConversation, formatStamp, normalizeConversation } from '@convsync/protocol';
import { openPostgresStore } from '../src/store/postgres.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import type { DocWrite, Store } from '../src/store/store.js';
import { listFacts } from '../src/sync/changes.js';
import { pull } from '../src/sync/pull.js';

const { values } = parseArgs({ options: { sizes: { type: 'string' }, runs: { type: 'string' } } });
const SIZES = (values.sizes ?? '1000,10000,100000').split(',').map(Number);
const RUNS = Number(values.runs ?? 200);
const PG_URL = process.env.CONVSYNC_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const GROUPS = ['g1', 'g2', 'g3', 'g4', 'g5'];

/** Deterministic, so both backends hold the same data. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return a / 2147483648;
  };
}

async function seed(store: Store, owner: string, count: number): Promise<void> {
  const next = seeded(count);
  const batch = 2000;
  for (let start = 0; start < count; start += batch) {
    const n = Math.min(batch, count - start);
    await store.transaction(async (tx) => {
      const [range] = await tx.advanceSeqs('conversations', [{ owner, count: n }]);
      const writes: DocWrite[] = [];
      for (let i = 0; i < n; i++) {
        const k = start + i;
        const stickTop = next() < 0.01;
        const group = next() < 0.3 ? [GROUPS[k % GROUPS.length] as string] : [];
        const unreadCount = next() < 0.2 ? 1 + Math.floor(next() * 20) : 0;
        const normal = normalizeConversation({
          ...emptyConversation({ conversationId: `${owner}|1|peer${k}`, now: 1_700_000_000_000 + k }),
          stickTop,
          sortOrder: 1_700_000_000_000 + Math.floor(next() * 1e9),
          name: `Peer number ${k}`,
          serverExtension: '{"tag":"bench"}',
          groups: group.map((groupId) => ({ groupId, member: true, stamp: formatStamp({ wallMs: 1, counter: 0, deviceId: 'd1' }) })),
          clock: { created: '', stickTop: stickTop ? formatStamp({ wallMs: 1, counter: 0, deviceId: 'd1' }) : '', mute: '', serverExtension: '', deleted: '' },
        });
        // Unread without a last message is not a state the server writes, but the page's cost only
        // depends on how many cells the totals have.
        const doc = { ...normal, unreadCount };
        const seq = (range?.prev ?? 0) + i + 1;
        writes.push({ owner, id: doc.conversationId, seq, json: JSON.stringify({ ...doc, serverRev: seq }), list: listFacts(doc) });
      }
      await tx.putDocs('conversations', writes);
    });
  }
}

async function time(store: Store, owner: string): Promise<{ median: number; p95: number; documents: number }> {
  const request = { collection: 'conversations', checkpoint: null, batchSize: 50, order: 'rank', format: 'json' } as const;
  for (let i = 0; i < 20; i++) await pull(store, owner, request);
  const samples: number[] = [];
  let documents = 0;
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    const page = await pull(store, owner, request);
    samples.push(performance.now() - started);
    documents = 'documentsJson' in page ? (JSON.parse(Buffer.from(page.documentsJson as Uint8Array).toString('utf8')) as unknown[]).length : 0;
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(RUNS / 2)] ?? NaN, p95: samples[Math.floor(RUNS * 0.95)] ?? NaN, documents };
}

const owner = (size: number) => `acct${size}`;

async function run(name: string, store: Store, plans: () => Promise<void>): Promise<void> {
  for (const size of SIZES) await seed(store, owner(size), size);
  await plans();
  for (const size of SIZES) {
    const { median, p95, documents } = await time(store, owner(size));
    process.stdout.write(`${name}\t${size}\tconversations\tpage of ${documents}\tmedian ${median.toFixed(3)} ms\tp95 ${p95.toFixed(3)} ms\n`);
  }
  await store.close();
}

const RANK_SQL = `SELECT id, seq, doc FROM docs WHERE owner = ? AND collection = 'conversations' AND rank IS NOT NULL ORDER BY rank, id LIMIT 51`;
const TOTALS_SQL = 'SELECT conv_type, muted, group_id, unread FROM unread_totals WHERE owner = ? AND unread <> 0';

const dir = mkdtempSync(join(tmpdir(), 'convsync-first-page-'));
try {
  const file = join(dir, 'store.sqlite');
  await run('sqlite', openSqliteStore({ path: file }), async () => {
    const db = new Database(file, { readonly: true });
    for (const sql of [RANK_SQL, TOTALS_SQL, 'SELECT seq FROM logs WHERE owner = ? AND collection = \'conversations\'']) {
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(owner(SIZES.at(-1) ?? 0)) as { detail: string }[];
      process.stdout.write(`sqlite plan: ${sql}\n${plan.map((row) => `  ${row.detail}`).join('\n')}\n`);
    }
    db.close();
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const name = `convsync_first_page_${process.pid}`;
const admin = new pg.Client({ connectionString: PG_URL });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
try {
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  await run('postgres', await openPostgresStore({ url: url.toString() }), async () => {
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    await client.query('ANALYZE');
    const largest = owner(SIZES.at(-1) ?? 0);
    for (const sql of [RANK_SQL, TOTALS_SQL]) {
      const text = sql.replace('?', '$1');
      const plan = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) ${text}`, [largest]);
      process.stdout.write(`postgres plan: ${text}\n${plan.rows.map((row) => `  ${row['QUERY PLAN']}`).join('\n')}\n`);
    }
    await client.end();
  });
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
