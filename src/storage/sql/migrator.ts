/**
 * Schema migrations, in code, run at start and by `portcullis migrate`.
 * A database that has run a migration this version does not know was written
 * by a newer Portcullis: refuse it rather than guess.
 */
import { Migrator, type Kysely, type MigrationResult } from 'kysely';
import { MIGRATIONS } from './migrations/index.js';
import type { Database } from './schema.js';

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

function migrator(db: Kysely<Database>): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...MIGRATIONS }) },
  });
}

export async function migrateToLatest(db: Kysely<Database>): Promise<MigrationSummary> {
  const m = migrator(db);
  const known = new Set(Object.keys(MIGRATIONS));
  const newer = (await executedMigrationNames(db)).filter((name) => !known.has(name));
  if (newer.length > 0) throw new SchemaTooNewError(newer);

  const { error, results } = await m.migrateToLatest();
  if (error) throw new Error(`Migration failed: ${describeFailure(results)}`, { cause: error });
  const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  const all = Object.keys(MIGRATIONS).sort();
  return { applied, current: all[all.length - 1] };
}

async function executedMigrationNames(db: Kysely<Database>): Promise<string[]> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  if (!tables.some((t) => t.name === 'kysely_migration')) return [];
  const rows = await (db as unknown as Kysely<{ kysely_migration: { name: string } }>)
    .selectFrom('kysely_migration')
    .select('name')
    .execute();
  return rows.map((row) => row.name);
}

function describeFailure(results: readonly MigrationResult[] | undefined): string {
  const failed = results?.find((r) => r.status === 'Error');
  return failed ? failed.migrationName : 'unknown migration';
}
