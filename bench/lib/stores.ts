/**
 * Server stores the benchmarks compare: SQLite (the default) and PostgreSQL at 127.0.0.1:5432,
 * db `test`, each run in a fresh schema (the store's `?schema=` URL parameter; it creates the schema).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export type StoreKind = 'sqlite' | 'postgres';

export const POSTGRES_URL = process.env.CONVSYNC_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * A fresh PostgreSQL schema and a URL whose connections use it, or undefined when PostgreSQL is
 * not reachable. `drop` removes the schema.
 */
export async function postgresDatabase(): Promise<{ url: string; drop: () => Promise<void> } | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  try {
    await client.connect();
  } catch {
    return undefined;
  }
  const schema = `bench_${randomBytes(6).toString('hex')}`;
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('schema', schema);
  return {
    url: url.toString(),
    async drop() {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    },
  };
}
