/**
 * Upgrades keep data: a server opens a database written by the first release's schema (the
 * checked-in fixtures of `fixtures/schema-v1`, made by `generate.ts` with that release), migrates
 * it, and serves its devices exactly what they were served before — a pull from the start and
 * from a device's mid-log checkpoint, groups and message history — then takes new writes, with
 * unread totals equal to a recount. Migrations run once, two servers racing on one fresh
 * PostgreSQL database both start, and a database newer than the code is refused (500, naming the
 * version). PostgreSQL runs for real (CONVSYNC_TEST_PG), each test in its own database.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { ClientEvent, ErrorCode, unreadOfCells, type ConversationDoc, type UnreadTotals } from '@convsync/protocol';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { migrateSqlite } from '../src/store/sqlite-schema.js';
import { Harness, byId, type Client } from './helpers.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'schema-v1');
const PG_URL = process.env.CONVSYNC_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUN = `cs_up_${process.pid.toString(36)}_${Date.now().toString(36)}`;

interface Pulled<D = ConversationDoc> { documents: D[]; seq: number }
interface Expected {
  middle: { alice: number };
  [account: string]: unknown;
}
interface AccountExpected {
  conversations: Pulled;
  fromMiddle?: Pulled;
  conversationGroups: Pulled<unknown>;
  messages: Record<string, unknown>;
}

function expectedOf(backend: 'sqlite' | 'postgres'): Expected {
  return JSON.parse(readFileSync(join(FIXTURES, `expected-${backend}.json`), 'utf8')) as Expected;
}

function firstPage(client: Client, batchSize = 100) {
  return client.ok<{ documents: ConversationDoc[]; checkpoint: { seq: number }; unread: UnreadTotals }>(ClientEvent.PULL,
    { collection: 'conversations', checkpoint: null, batchSize, order: 'rank' });
}

/** The unread totals must equal a recount of the documents a full pull returns. */
async function expectTotalsMatchRecount(client: Client): Promise<void> {
  const docs = [...byId((await client.pullAll()).documents).values()].filter((doc) => !doc._deleted);
  const { unread, documents } = await firstPage(client);
  const sum = (keep: (doc: ConversationDoc) => boolean) => docs.filter(keep).reduce((total, doc) => total + doc.unreadCount, 0);
  expect(unread.total).toBe(sum(() => true));
  expect(unreadOfCells(unread.cells, { ignoreMuted: true })).toBe(sum((doc) => !doc.mute));
  for (const group of ['work', 'family']) {
    expect(unreadOfCells(unread.cells, { conversationGroupId: group })).toBe(sum((doc) => doc.groupIds.includes(group)));
  }
  expect(documents.map((doc) => doc.conversationId))
    .toEqual([...docs].sort((a, b) => a.rank - b.rank || (a.conversationId < b.conversationId ? -1 : 1)).map((doc) => doc.conversationId));
}

/** Everything the fixture's devices were served, served again by a server on the migrated database. */
async function expectServedAsBefore(harness: Harness, database: string, expected: Expected): Promise<void> {
  const server = await harness.server({ database });
  for (const account of ['alice', 'bob', 'carol']) {
    const before = expected[account] as AccountExpected;
    const client = await harness.client(server, account);
    expect(await client.pullAll()).toEqual(before.conversations);
    expect(await client.pullAll('conversationGroups')).toEqual(before.conversationGroups);
    const peer = account === 'alice' ? 'bob' : 'alice';
    expect(await client.ok(ClientEvent.MESSAGE_LIST, { conversationId: `${account}|1|${peer}`, limit: 100 })).toEqual(before.messages);
    if (before.fromMiddle !== undefined) expect(await client.pullAll('conversations', expected.middle.alice)).toEqual(before.fromMiddle);
  }
  const alice = await harness.client(server, 'alice');
  const bob = await harness.client(server, 'bob');
  await expectTotalsMatchRecount(alice);
  // New writes after the upgrade: a message, a read, a pin — the log goes on from where it was.
  const last = (expected['alice'] as AccountExpected).conversations.seq;
  await bob.send('bob|1|alice', 'after the upgrade');
  const current = byId((await alice.pullAll()).documents);
  const bobDoc = current.get('alice|1|bob') as ConversationDoc;
  expect(bobDoc.lastMessage?.text).toBe('after the upgrade');
  expect(bobDoc.serverRev).toBeGreaterThan(last);
  const carolDoc = current.get('alice|1|carol') as ConversationDoc;
  await alice.ok(ClientEvent.PUSH, { collection: 'conversations', rows: [
    { newDocumentState: { ...carolDoc, lastReadTime: carolDoc.lastMessage?.messageRefer.createTime ?? 1 } },
  ] });
  await expectTotalsMatchRecount(alice);
  const after = await alice.pullAll('conversations', last);
  expect(after.documents.map((doc) => doc.conversationId).sort()).toEqual(['alice|1|bob', 'alice|1|carol']);
}

function isRefusal(version: number) {
  return (error: unknown): boolean => {
    const { code, message } = error as { code?: unknown; message?: unknown };
    return code === ErrorCode.INTERNAL && typeof message === 'string' && message.includes(`schema version ${version}`);
  };
}

describe('upgrade: SQLite', () => {
  const harness = new Harness();
  const dirs: string[] = [];
  afterEach(async () => {
    await harness.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function copyOfFixture(): string {
    const dir = mkdtempSync(join(tmpdir(), 'convsync-upgrade-'));
    dirs.push(dir);
    const file = join(dir, 'store.sqlite');
    copyFileSync(join(FIXTURES, 'store.sqlite'), file);
    return file;
  }

  it('migrates a first-release file in place and serves its devices with nothing lost', async () => {
    const file = copyOfFixture();
    const before = new Database(file, { readonly: true });
    expect(before.pragma('user_version', { simple: true })).toBe(0);
    before.close();
    await expectServedAsBefore(harness, file, expectedOf('sqlite'));
    const after = new Database(file, { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(2);
    after.close();
  });

  it('applies each migration once: a second open finds nothing to do', () => {
    const db = new Database(copyOfFixture());
    try {
      expect(migrateSqlite(db)).toEqual([1, 2]);
      expect(migrateSqlite(db)).toEqual([]);
      // Backfilled: the visible conversations (alice's seven, bob's, carol's, dave's) are ranked, frank's tombstone is not.
      expect(db.prepare("SELECT count(*) AS n FROM docs WHERE collection = 'conversations' AND rank IS NOT NULL").get()).toEqual({ n: 10 });
      expect(db.prepare("SELECT count(*) AS n FROM docs WHERE collection = 'conversations' AND rank IS NULL").get()).toEqual({ n: 1 });
    } finally {
      db.close();
    }
  });

  it('lets two processes opening one first-release file at once both migrate it, each migration applied once', async () => {
    const file = copyOfFixture();
    const child = join(FIXTURES, '..', 'migrate-sqlite-child.ts');
    const startAt = String(Date.now() + 1500);
    const runs = await Promise.all([0, 1].map(() =>
      promisify(execFile)(process.execPath, ['--conditions=source', '--import', 'tsx', child, file, startAt])));
    const applied = runs.map((run) => JSON.parse(run.stdout) as number[]);
    expect(applied.flat().sort()).toEqual([1, 2]);
    const db = new Database(file, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    expect(db.prepare('SELECT count(*) AS n FROM unread_totals').get()).toEqual({ n: 4 });
    db.close();
  });

  it('refuses a file a newer release migrated, naming its version, and leaves it untouched', async () => {
    const file = copyOfFixture();
    const db = new Database(file);
    db.pragma('user_version = 99');
    db.close();
    await expect(harness.server({ database: file })).rejects.toSatisfy(isRefusal(99));
    const after = new Database(file, { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(99);
    expect(after.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'unread_totals'").get()).toEqual({ n: 0 });
    after.close();
  });
});

describe('upgrade: PostgreSQL', () => {
  const harness = new Harness();
  const admin = new pg.Pool({ connectionString: PG_URL, max: 2 });
  admin.on('error', () => undefined);
  const databases: string[] = [];

  afterEach(() => harness.close());
  afterAll(async () => {
    for (const name of databases) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });

  /** A fresh database (unique name), optionally with the fixture's dump replayed into it. */
  async function database(withFixture: boolean): Promise<string> {
    const name = `${RUN}_${databases.length}`;
    databases.push(name);
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(PG_URL);
    url.pathname = `/${name}`;
    if (withFixture) {
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      try {
        // The dump is plain SQL with INSERTs (no COPY): one simple-protocol query runs it all,
        // once psql's own meta-commands (`\restrict`, which recent pg_dump adds) are left out.
        const dump = readFileSync(join(FIXTURES, 'postgres.sql'), 'utf8').split('\n').filter((line) => !line.startsWith('\\')).join('\n');
        await client.query(dump);
      } finally {
        await client.end();
      }
    }
    return url.toString();
  }

  async function versions(url: string): Promise<number[]> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<{ version: number }>('SELECT version FROM public.schema_migrations ORDER BY version')).rows.map((r) => r.version);
    } finally {
      await client.end();
    }
  }

  it('migrates a first-release database in place and serves its devices with nothing lost', async () => {
    const url = await database(true);
    expect(await versions(url)).toEqual([1]);
    await expectServedAsBefore(harness, url, expectedOf('postgres'));
    expect(await versions(url)).toEqual([1, 2]);
  });

  it('lets two servers racing on one fresh database both start, each migration applied once', async () => {
    const url = await database(false);
    const [a, b] = await Promise.all([harness.server({ database: url }), harness.server({ database: url })]);
    expect(await versions(url)).toEqual([1, 2]);
    const alice = await harness.client(a, 'alice');
    const bob = await harness.client(b, 'bob');
    await bob.send('bob|1|alice', 'through b');
    expect((await firstPage(alice)).unread.total).toBe(1);
  });

  it('refuses a database a newer release migrated, naming its version', async () => {
    const url = await database(true);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query("INSERT INTO public.schema_migrations (version, name) VALUES (99, 'from the future')");
    await client.end();
    await expect(harness.server({ database: url })).rejects.toSatisfy(isRefusal(99));
    expect(await versions(url)).toEqual([1, 99]);
  });
});
