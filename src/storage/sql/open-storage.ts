/** Opens the configured database, runs the migrations, and hands out the stores. */
import type { DatabaseLocation } from '../../core/config.js';
import type { SqlDialect } from './dialects/dialect.js';
import { openSqlite } from './dialects/sqlite.js';
import { migrateToLatest, type MigrationSummary } from './migrator.js';
import { SqlUserStore } from './user-store.js';
import { SqlSessionStore } from './session-store.js';
import { SqlClientStore } from './client-store.js';
import { SqlAuditStore } from './audit-store.js';
import { SqlKeyStore } from './key-store.js';
import type { ChangeSource } from '../../core/ports.js';
import type { Stores } from '../../core/account-services.js';

export interface SqlStorage {
  readonly dialect: SqlDialect;
  readonly users: SqlUserStore;
  readonly sessions: SqlSessionStore;
  readonly clients: SqlClientStore;
  readonly audit: SqlAuditStore;
  readonly keys: SqlKeyStore;
  readonly changes: ChangeSource;
  migrate(): Promise<MigrationSummary>;
  close(): Promise<void>;
}

export function openStorage(location: DatabaseLocation): SqlStorage {
  if (location.kind !== 'sqlite') throw new TypeError(`Unsupported database: ${location.kind}`);
  const dialect = openSqlite(location.path);
  return {
    dialect,
    users: new SqlUserStore(dialect),
    sessions: new SqlSessionStore(dialect),
    clients: new SqlClientStore(dialect),
    audit: new SqlAuditStore(dialect),
    keys: new SqlKeyStore(dialect),
    changes: { version: () => dialect.externalChangeVersion() },
    migrate: () => migrateToLatest(dialect.db),
    close: () => dialect.close(),
  };
}

/** The stores as core's ports. */
export function storageStores(storage: SqlStorage): Stores {
  return {
    users: storage.users,
    sessions: storage.sessions,
    clients: storage.clients,
    audit: storage.audit,
    keys: storage.keys,
    changes: storage.changes,
    health: storage.users,
  };
}
