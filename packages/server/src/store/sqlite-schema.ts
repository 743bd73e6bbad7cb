/**
 * The SQLite schema as numbered migrations (`migrations.ts`), the reached version kept in
 * `PRAGMA user_version`. Each migration runs in its own `BEGIN IMMEDIATE` transaction and the
 * version is read again once the write lock is held, so two processes opening one file at once
 * apply it once. A database of the first release (no version, tables made with IF NOT EXISTS)
 * reads as version 0: migration 1 is that schema, still IF NOT EXISTS, so it adopts such a file.
 */
import type Database from 'better-sqlite3';
import { pending, refuseNewer, type Migration } from './migrations.js';

/** Append only: a released migration is never edited. */
export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'change log, documents, messages, profiles, teams',
    sql: `
      CREATE TABLE IF NOT EXISTS logs (
        owner TEXT NOT NULL, collection TEXT NOT NULL, seq INTEGER NOT NULL,
        PRIMARY KEY (owner, collection)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS docs (
        owner TEXT NOT NULL, collection TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL,
        target TEXT, doc TEXT NOT NULL,
        PRIMARY KEY (owner, collection, id));
      CREATE UNIQUE INDEX IF NOT EXISTS docs_by_seq ON docs (owner, collection, seq);
      CREATE INDEX IF NOT EXISTS docs_by_target ON docs (collection, target) WHERE target IS NOT NULL;
      CREATE TABLE IF NOT EXISTS owners (
        owner TEXT PRIMARY KEY, last_sort_order INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS messages (
        message_server_id TEXT PRIMARY KEY, conversation_key TEXT NOT NULL, sender_id TEXT NOT NULL,
        client_message_id TEXT NOT NULL, create_time INTEGER NOT NULL, message TEXT NOT NULL) WITHOUT ROWID;
      CREATE UNIQUE INDEX IF NOT EXISTS messages_by_client_id ON messages (sender_id, client_message_id);
      CREATE INDEX IF NOT EXISTS messages_by_time ON messages (conversation_key, create_time);
      CREATE TABLE IF NOT EXISTS message_clocks (
        conversation_key TEXT PRIMARY KEY, last_time INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS users (
        account_id TEXT PRIMARY KEY, name TEXT NOT NULL, avatar TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS teams (
        team_id TEXT PRIMARY KEY, name TEXT NOT NULL, super_team INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS team_members (
        team_id TEXT NOT NULL, account_id TEXT NOT NULL, PRIMARY KEY (team_id, account_id)) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    name: 'list order and unread totals (the first-sync page)',
    // rank: the list position of a visible conversation, NULL otherwise (tombstones, groups), so
    // the partial index holds exactly the list. unread / unread_facets: what the document adds to
    // its owner's unread totals ([type, muted, groupIds]), kept so a rewrite can subtract it.
    sql: `
      ALTER TABLE docs ADD COLUMN rank INTEGER;
      ALTER TABLE docs ADD COLUMN unread INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE docs ADD COLUMN unread_facets TEXT;
      UPDATE docs SET
        rank = CASE WHEN json_extract(doc, '$._deleted') THEN NULL ELSE json_extract(doc, '$.rank') END,
        unread = CASE WHEN json_extract(doc, '$._deleted') THEN 0 ELSE json_extract(doc, '$.unreadCount') END,
        unread_facets = json_array(json_extract(doc, '$.type'), CASE WHEN json_extract(doc, '$.mute') THEN 1 ELSE 0 END,
          json(json_extract(doc, '$.groupIds')))
      WHERE collection = 'conversations';
      CREATE INDEX docs_by_rank ON docs (owner, collection, rank, id) WHERE rank IS NOT NULL;
      CREATE TABLE unread_totals (
        owner TEXT NOT NULL, conv_type INTEGER NOT NULL, muted INTEGER NOT NULL, group_id TEXT NOT NULL,
        unread INTEGER NOT NULL,
        PRIMARY KEY (owner, conv_type, muted, group_id)) WITHOUT ROWID;
      INSERT INTO unread_totals (owner, conv_type, muted, group_id, unread)
        SELECT owner, json_extract(unread_facets, '$[0]'), json_extract(unread_facets, '$[1]'), '', sum(unread)
        FROM docs WHERE collection = 'conversations' AND unread > 0 GROUP BY 1, 2, 3;
      INSERT INTO unread_totals (owner, conv_type, muted, group_id, unread)
        SELECT owner, json_extract(unread_facets, '$[0]'), json_extract(unread_facets, '$[1]'), g.value, sum(unread)
        FROM docs, json_each(docs.unread_facets, '$[2]') AS g
        WHERE collection = 'conversations' AND unread > 0 GROUP BY 1, 2, 3, 4;
    `,
  },
];

/** How long opening waits for another process's migration or write lock (ms). */
const MIGRATION_BUSY_MS = 10_000;

function isBusy(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'SQLITE_BUSY';
}

/**
 * Puts the file in WAL mode. Switching needs the file to itself, and when two processes open a
 * rollback-journal file at once SQLite answers one of them SQLITE_BUSY at once (its deadlock
 * avoidance skips the busy handler), so the switch is retried for as long as a migration may
 * wait. Synchronous, like the migrations: it runs once, before the store serves.
 */
export function useWal(db: Database.Database): void {
  const deadline = Date.now() + MIGRATION_BUSY_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      if (!isBusy(error) || Date.now() > deadline) throw error;
      Atomics.wait(pause, 0, 0, 5 + Math.random() * 20);
    }
  }
}

/**
 * Brings the file up to date; returns the versions this call applied (empty when it was current,
 * or another process got there first). Synchronous: it runs once, before the store serves.
 */
export function migrateSqlite(db: Database.Database, migrations: readonly Migration[] = SQLITE_MIGRATIONS): number[] {
  const applied: number[] = [];
  const version = (): number => db.pragma('user_version', { simple: true }) as number;
  refuseNewer('SQLite', version(), migrations);
  if (pending(migrations, version()).length === 0) return applied;
  const previousTimeout = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma(`busy_timeout = ${MIGRATION_BUSY_MS}`);
  try {
    for (;;) {
      db.exec('BEGIN IMMEDIATE');
      try {
        // Read again under the write lock: another process may have migrated meanwhile.
        const current = version();
        refuseNewer('SQLite', current, migrations);
        const [next] = pending(migrations, current);
        if (next === undefined) {
          db.exec('COMMIT');
          return applied;
        }
        db.exec(next.sql);
        db.pragma(`user_version = ${next.version}`);
        db.exec('COMMIT');
        applied.push(next.version);
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw error;
      }
    }
  } finally {
    db.pragma(`busy_timeout = ${previousTimeout}`);
  }
}
