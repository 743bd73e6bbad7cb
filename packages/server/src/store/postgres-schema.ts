/**
 * The PostgreSQL schema as numbered migrations, applied on start.
 *
 * Several server processes may start at once against one database: each takes a transaction-scoped
 * advisory lock (keyed by the schema name) before it looks at `schema_migrations`, so exactly one
 * applies a missing migration and the others then see it applied. DDL is transactional in
 * PostgreSQL, so a migration that fails leaves nothing half-done.
 *
 * Identifiers are `COLLATE "C"`: byte order, as SQLite compares, and cheaper than a locale.
 */
import type { PoolClient } from 'pg';
import { refuseNewer, type Migration } from './migrations.js';

export type { Migration } from './migrations.js';

const ID = 'text COLLATE "C" NOT NULL';

/** Append only: a released migration is never edited, a change is a new version. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'change log, documents, messages, profiles, teams',
    sql: `
      CREATE TABLE logs (
        owner ${ID}, collection ${ID}, seq bigint NOT NULL,
        PRIMARY KEY (owner, collection));
      CREATE TABLE docs (
        owner ${ID}, collection ${ID}, id ${ID}, seq bigint NOT NULL,
        target text COLLATE "C", doc text NOT NULL,
        PRIMARY KEY (owner, collection, id));
      CREATE UNIQUE INDEX docs_by_seq ON docs (owner, collection, seq);
      CREATE INDEX docs_by_target ON docs (collection, target) WHERE target IS NOT NULL;
      CREATE TABLE owners (owner ${ID} PRIMARY KEY, last_sort_order bigint);
      CREATE TABLE messages (
        message_server_id ${ID} PRIMARY KEY, conversation_key ${ID}, sender_id ${ID},
        client_message_id ${ID}, create_time bigint NOT NULL, message text NOT NULL);
      CREATE UNIQUE INDEX messages_by_client_id ON messages (sender_id, client_message_id);
      CREATE INDEX messages_by_time ON messages (conversation_key, create_time);
      CREATE TABLE message_clocks (conversation_key ${ID} PRIMARY KEY, last_time bigint NOT NULL);
      CREATE TABLE users (account_id ${ID} PRIMARY KEY, name text NOT NULL, avatar text NOT NULL);
      CREATE TABLE teams (team_id ${ID} PRIMARY KEY, name text NOT NULL, super_team boolean NOT NULL);
      CREATE TABLE team_members (team_id ${ID}, account_id ${ID}, PRIMARY KEY (team_id, account_id));
    `,
  },
  {
    version: 2,
    name: 'list order and unread totals (the first-sync page)',
    // As SQLite's migration 2 (sqlite-schema.ts): rank is NULL outside the list, so the partial
    // index holds exactly the list; unread / unread_facets are the document's share of the totals.
    sql: `
      ALTER TABLE docs ADD COLUMN rank bigint, ADD COLUMN unread bigint NOT NULL DEFAULT 0, ADD COLUMN unread_facets text;
      UPDATE docs SET
        rank = CASE WHEN (j->>'_deleted')::boolean THEN NULL ELSE (j->>'rank')::bigint END,
        unread = CASE WHEN (j->>'_deleted')::boolean THEN 0 ELSE (j->>'unreadCount')::bigint END,
        unread_facets = jsonb_build_array((j->>'type')::int, CASE WHEN (j->>'mute')::boolean THEN 1 ELSE 0 END, j->'groupIds')::text
      FROM (SELECT owner AS o, id AS i, doc::jsonb AS j FROM docs WHERE collection = 'conversations') parsed
      WHERE docs.collection = 'conversations' AND docs.owner = parsed.o AND docs.id = parsed.i;
      CREATE INDEX docs_by_rank ON docs (owner, collection, rank, id) WHERE rank IS NOT NULL;
      CREATE TABLE unread_totals (
        owner ${ID}, conv_type integer NOT NULL, muted boolean NOT NULL, group_id ${ID}, unread bigint NOT NULL,
        PRIMARY KEY (owner, conv_type, muted, group_id));
      INSERT INTO unread_totals (owner, conv_type, muted, group_id, unread)
        SELECT owner, (unread_facets::jsonb->>0)::int, (unread_facets::jsonb->>1)::int = 1, '', sum(unread)
        FROM docs WHERE collection = 'conversations' AND unread > 0 GROUP BY 1, 2, 3;
      INSERT INTO unread_totals (owner, conv_type, muted, group_id, unread)
        SELECT owner, (unread_facets::jsonb->>0)::int, (unread_facets::jsonb->>1)::int = 1, g, sum(unread)
        FROM docs, jsonb_array_elements_text(unread_facets::jsonb->2) AS g
        WHERE collection = 'conversations' AND unread > 0 GROUP BY 1, 2, 3, 4;
    `,
  },
];

/** A schema name we can splice into SQL: lower-case letters, digits and underscores. */
export function isSafeSchemaName(name: string): boolean {
  return /^[a-z_][a-z0-9_]{0,62}$/.test(name);
}

/**
 * Brings the schema up to date (creating `schema`, when given, first). Returns the versions this
 * call applied (empty when another process had done it).
 */
export async function migrate(client: PoolClient, schema?: string): Promise<number[]> {
  const applied: number[] = [];
  await client.query('BEGIN');
  try {
    // Keyed by schema so test runs in their own schemas never wait for each other.
    await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('convsync:migrate:' || $1, 0))`, [schema ?? '']);
    if (schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((row) => row.version));
    refuseNewer('PostgreSQL', Math.max(0, ...done), MIGRATIONS);
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      applied.push(migration.version);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  return applied;
}
