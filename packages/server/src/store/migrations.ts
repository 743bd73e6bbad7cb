/**
 * Versioned schema migrations, shared by both SQL backends (docs/ARCHITECTURE.md "Upgrades keep
 * data"). Each backend keeps an ordered, append-only list: a released migration is never edited, a
 * change is a new version. A backend records the version it reached (SQLite `PRAGMA user_version`,
 * PostgreSQL `schema_migrations`), applies what is missing in one transaction per migration under
 * its write lock (so two processes starting at once apply each migration once), and refuses a
 * database a newer release already migrated: this code cannot know what that release changed.
 */
import { ConvSyncError, ErrorCode } from '@convsync/protocol';

export interface Migration {
  version: number;
  name: string;
  /** The DDL and the backfill of existing rows, run in the migration's transaction. */
  sql: string;
}

/** The version the list brings a database to; throws if the list is not 1, 2, 3, … in order. */
export function latestVersion(migrations: readonly Migration[]): number {
  migrations.forEach((migration, i) => {
    if (migration.version !== i + 1) throw new Error(`migration ${migration.version} is out of order (expected ${i + 1})`);
  });
  return migrations.length;
}

/** Refuses a database whose schema is newer than this code's migrations (code 500, both versions named). */
export function refuseNewer(backend: string, databaseVersion: number, migrations: readonly Migration[]): void {
  const known = latestVersion(migrations);
  if (databaseVersion <= known) return;
  throw new ConvSyncError(ErrorCode.INTERNAL,
    `the ${backend} database has schema version ${databaseVersion}, newer than this server's ${known}: ` +
    'a newer release wrote it; run that release (or newer), or restore a backup made before the upgrade',
    { detail: { databaseVersion, serverVersion: known } });
}

/** The migrations a database at `current` still needs, in order. */
export function pending(migrations: readonly Migration[], current: number): Migration[] {
  return migrations.filter((migration) => migration.version > current);
}
