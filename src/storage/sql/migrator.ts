/**
 * Schema migrations, in code, run at start and by `portcullis migrate` under Kysely's lock (an advisory lock on
 * PostgreSQL), with bookkeeping tables of Portcullis's own so that a host migrating its own schema with Kysely
 * in the same database does not collide. A database that has run a migration this version does not know is
 * refused rather than guessed at (ADR 0021).
 */
import { Migrator, type Kysely, type MigrationResult } from 'kysely';
import { MIGRATION_NAMES, migrationsFor } from './migrations/index.js';
import type { Database } from './schema.js';
import type { SqlDialect } from './dialects/dialect.js';

export const MIGRATION_TABLE = 'portcullis_migration';
const MIGRATION_LOCK_TABLE = 'portcullis_migration_lock';

export class SchemaTooNewError extends Error {
  constructor(readonly unknownMigrations: readonly string[]) {
    super(
      `The database schema is newer than this version of Portcullis knows (unknown migrations: ${unknownMigrations.join(', ')}); upgrade Portcullis`,
    );
    this.name = 'SchemaTooNewError';
  }
}

export interface MigrationSummary {
  readonly applied: readonly string[];
  readonly current: string | undefined;
}

export async function migrateToLatest(dialect: SqlDialect): Promise<MigrationSummary> {
  const newer = (await executedMigrationNames(dialect.db)).filter((name) => !MIGRATION_NAMES.includes(name));
  if (newer.length > 0) throw new SchemaTooNewError(newer);

  const migrator = new Migrator({
    db: dialect.db,
    provider: { getMigrations: async () => migrationsFor(dialect.columnTypes) },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw new Error(`Migration failed: ${describeFailure(results)}`, { cause: error });
  const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  return { applied, current: MIGRATION_NAMES[MIGRATION_NAMES.length - 1] };
}

/** The migrations a database has run, oldest first ([] for an empty database). */
export async function executedMigrationNames(db: Kysely<Database>): Promise<string[]> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  if (!tables.some((t) => t.name === MIGRATION_TABLE)) return [];
  const rows = await (db as unknown as Kysely<Record<typeof MIGRATION_TABLE, { name: string }>>)
    .selectFrom(MIGRATION_TABLE)
    .select('name')
    .orderBy('name')
    .execute();
  return rows.map((row) => row.name);
}

function describeFailure(results: readonly MigrationResult[] | undefined): string {
  const failed = results?.find((r) => r.status === 'Error');
  return failed ? failed.migrationName : 'unknown migration';
}
