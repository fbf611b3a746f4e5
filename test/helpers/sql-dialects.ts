/**
 * The databases the SQL stores' contract suites run on: SQLite in a temp
 * file and in `:memory:` always, PostgreSQL (a fresh database per suite) when
 * it answers; skipped, saying why, when it does not, except under CI=true,
 * where it is required (test/helpers/postgres.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqlDialect } from '../../src/storage/sql/dialects/dialect.js';
import { openPostgres } from '../../src/storage/sql/dialects/postgres.js';
import { openSqlite } from '../../src/storage/sql/dialects/sqlite.js';
import { migrateToLatest } from '../../src/storage/sql/migrator.js';
import { createTestDatabase, postgresSkipReason } from './postgres.js';

export interface MigratedDatabase {
  readonly dialect: SqlDialect;
  close(): Promise<void>;
}

export interface TestDialect {
  readonly name: string;
  /** Why the suite is skipped; undefined when it runs. */
  readonly skip: string | undefined;
  /** A new, empty, migrated database. */
  open(): Promise<MigratedDatabase>;
}

const POOL = { max: 4, connectTimeoutMs: 2000, statementTimeoutMs: 10_000, idleTimeoutMs: 10_000 };

async function migrated(dialect: SqlDialect, cleanup: () => Promise<void>): Promise<MigratedDatabase> {
  try {
    await migrateToLatest(dialect);
  } catch (error) {
    await dialect.close();
    await cleanup();
    throw error;
  }
  return {
    dialect,
    async close() {
      await dialect.close();
      await cleanup();
    },
  };
}

export async function testDialects(): Promise<readonly TestDialect[]> {
  const postgresSkip = await postgresSkipReason();
  return [
    {
      name: 'SQLite (file)',
      skip: undefined,
      async open() {
        const dir = mkdtempSync(join(tmpdir(), 'portcullis-contract-'));
        return migrated(openSqlite(join(dir, 'db.sqlite')), async () => rmSync(dir, { recursive: true, force: true }));
      },
    },
    {
      name: 'SQLite (:memory:)',
      skip: undefined,
      open: () => migrated(openSqlite(':memory:'), async () => undefined),
    },
    {
      name: 'PostgreSQL',
      skip: postgresSkip,
      async open() {
        const database = await createTestDatabase();
        return migrated(openPostgres(database.url, POOL), () => database.drop());
      },
    },
  ];
}
