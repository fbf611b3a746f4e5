import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Migrator } from 'kysely';
import { openSqlite } from '../storage/sql/dialects/sqlite.js';
import { migrationsFor, MIGRATION_NAMES } from '../storage/sql/migrations/index.js';
import { migrateToLatest } from '../storage/sql/migrator.js';
import { assertNoForeignTables, RETIRED_TABLE_MIGRATIONS, TABLE_MIGRATIONS, TableConflictError } from './table-conflicts.js';

async function tables(dialect: ReturnType<typeof openSqlite>): Promise<Set<string>> {
  return new Set((await dialect.db.introspection.getTables()).map((table) => table.name));
}

describe('TABLE_MIGRATIONS', () => {
  it('names the migration that creates each table, and every table a migration creates', async () => {
    const dialect = openSqlite(':memory:');
    const migrator = new Migrator({
      db: dialect.db,
      provider: { getMigrations: async () => migrationsFor(dialect.columnTypes) },
      migrationTableName: 'test_migration',
      migrationLockTableName: 'test_migration_lock',
    });
    const createdBy: Record<string, string> = {};
    let before = await tables(dialect);
    for (const name of MIGRATION_NAMES) {
      const { error } = await migrator.migrateTo(name);
      assert.equal(error, undefined);
      const now = await tables(dialect);
      for (const table of now) if (!before.has(table) && !table.startsWith('test_migration')) createdBy[table] = name;
      before = now;
    }
    assert.deepEqual(
      Object.keys(RETIRED_TABLE_MIGRATIONS).filter((table) => before.has(table)),
      [],
      'a retired table is gone after the last migration',
    );
    assert.deepEqual(createdBy, { ...TABLE_MIGRATIONS, ...RETIRED_TABLE_MIGRATIONS });
    await dialect.close();
  });
});

describe('assertNoForeignTables', () => {
  it("accepts an empty database and one Portcullis migrated, and refuses another's table of the same name", async () => {
    const migrated = openSqlite(':memory:');
    await assertNoForeignTables(migrated);
    await migrateToLatest(migrated);
    await assertNoForeignTables(migrated);
    await migrated.close();
    const dialect = openSqlite(':memory:');
    await dialect.db.schema.createTable('signing_keys').addColumn('id', 'integer').execute();
    await dialect.db.schema.createTable('orders').addColumn('id', 'integer').execute();
    await assert.rejects(assertNoForeignTables(dialect), (error: unknown) => {
      assert.ok(error instanceof TableConflictError);
      assert.deepEqual(error.tables, ['signing_keys']);
      return true;
    });
    await dialect.close();
  });
});
