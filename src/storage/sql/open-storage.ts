/** Opens the configured database, runs the migrations, and hands out the stores. */
import type { DatabaseLocation } from '../../core/config.js';
import type { SqlDialect } from './dialects/dialect.js';
import { openSqlite } from './dialects/sqlite.js';
import { migrateToLatest, type MigrationSummary } from './migrator.js';
import { SqlUserStore } from './user-store.js';

export interface SqlStorage {
  readonly dialect: SqlDialect;
  readonly users: SqlUserStore;
  migrate(): Promise<MigrationSummary>;
  close(): Promise<void>;
}

export function openStorage(location: DatabaseLocation): SqlStorage {
  if (location.kind !== 'sqlite') throw new TypeError(`Unsupported database: ${location.kind}`);
  const dialect = openSqlite(location.path);
  return {
    dialect,
    users: new SqlUserStore(dialect),
    migrate: () => migrateToLatest(dialect.db),
    close: () => dialect.close(),
  };
}
