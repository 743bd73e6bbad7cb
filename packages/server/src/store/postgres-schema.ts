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

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

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
