/** Opens the configured database, runs the migrations, and hands out the stores. */
import type { DatabaseLocation } from '../settings.js';
import type { SqlDialect } from './dialects/dialect.js';
import { openSqlite } from './dialects/sqlite.js';
import { openPostgres } from './dialects/postgres.js';
import { migrateToLatest, type MigrationSummary } from './migrator.js';
import { SqlUserStore } from './user-store.js';
import { SqlSessionStore } from './session-store.js';
import { SqlClientStore } from './client-store.js';
import { SqlAuditStore } from './audit-store.js';
import { SqlKeyStore } from './key-store.js';
import { SqlRevocationFeedStore } from './revocation-log.js';
import { SqlOutboxStore } from './outbox-store.js';
import { SqlLogoutDeliveryStore } from './logout-delivery-store.js';
import { SqlMailTokenStore } from './mail-token-store.js';
import { SqlFactorStore } from './factor-store.js';
import { SqlAuthorizationStore } from './authorization-store.js';
import type { ChangeSource } from '../../core/ports.js';
import type { ChangeBus } from '../../core/change-bus.js';
import { PostgresChangeBus } from './postgres-change-bus.js';
import type { Stores } from '../../core/account-services.js';

export interface SqlStorage {
  readonly dialect: SqlDialect;
  readonly users: SqlUserStore;
  readonly sessions: SqlSessionStore;
  readonly revocations: SqlRevocationFeedStore;
  readonly clients: SqlClientStore;
  readonly audit: SqlAuditStore;
  readonly keys: SqlKeyStore;
  /** The mail outbox (ADR 0022). */
  readonly outbox: SqlOutboxStore;
  /** Tokens sent by mail: password resets, addresses to verify, sign-in links (issue 14). */
  readonly mailTokens: SqlMailTokenStore;
  /** Second factors, recovery codes and mfa_token state (issue 15). */
  readonly factors: SqlFactorStore;
  /** Authorization codes and consents of the code flow (issue 16). */
  readonly authorizations: SqlAuthorizationStore;
  /** Back-channel logout tokens to send (migration 0012). */
  readonly logoutDeliveries: SqlLogoutDeliveryStore;
  /** What other processes changed: SQLite's data_version, or the bus on PostgreSQL. */
  readonly changes: ChangeSource;
  /** Publishes this process's changes to the others (PostgreSQL); SQLite needs none. */
  readonly bus: ChangeBus | undefined;
  migrate(): Promise<MigrationSummary>;
  close(): Promise<void>;
}

export interface OpenStorageOptions {
  /** Told when the change bus loses or regains its connection, or cannot publish. */
  readonly onBusProblem?: (message: string, error?: unknown) => void;
  /** SQLite's commit durability (SQLITE_SYNCHRONOUS); default 'full'. */
  readonly sqliteSynchronous?: 'full' | 'normal';
  /** SQLite: overlapping transactions share one COMMIT (SQLITE_GROUP_COMMIT); default true. */
  readonly sqliteGroupCommit?: boolean;
  /** The data folder (DATA_DIR): created if the SQLite file is in it and it is missing. No other folder is. */
  readonly dataDir?: string;
}

export function openStorage(location: DatabaseLocation, options: OpenStorageOptions = {}): SqlStorage {
  const dialect =
    location.kind === 'sqlite'
      ? openSqlite(location.path, options.sqliteSynchronous, options.sqliteGroupCommit, options.dataDir)
      : openPostgres(location.url, location.pool);
  const bus =
    location.kind === 'postgres'
      ? new PostgresChangeBus(dialect.db, {
          url: location.url,
          connectTimeoutMs: location.pool.connectTimeoutMs,
          ...(options.onBusProblem ? { onProblem: options.onBusProblem } : {}),
        })
      : undefined;
  return storageOn(dialect, bus);
}

/** The stores over a dialect (opened here, or a host application's connection); `bus` tells other processes of changes. */
export function storageOn(dialect: SqlDialect, bus?: ChangeBus): SqlStorage {
  return {
    dialect,
    users: new SqlUserStore(dialect),
    sessions: new SqlSessionStore(dialect),
    revocations: new SqlRevocationFeedStore(dialect),
    clients: new SqlClientStore(dialect),
    audit: new SqlAuditStore(dialect),
    keys: new SqlKeyStore(dialect),
    outbox: new SqlOutboxStore(dialect),
    mailTokens: new SqlMailTokenStore(dialect),
    factors: new SqlFactorStore(dialect),
    authorizations: new SqlAuthorizationStore(dialect),
    logoutDeliveries: new SqlLogoutDeliveryStore(dialect),
    changes: bus ?? { version: () => dialect.externalChangeVersion() },
    bus,
    migrate: () => migrateToLatest(dialect),
    close: async () => {
      await bus?.close();
      await dialect.close();
    },
  };
}

/** The stores as core's ports. */
export function storageStores(storage: SqlStorage): Stores {
  return {
    users: storage.users,
    sessions: storage.sessions,
    revocations: storage.revocations,
    clients: storage.clients,
    audit: storage.audit,
    keys: storage.keys,
    mailTokens: storage.mailTokens,
    factors: storage.factors,
    authorizations: storage.authorizations,
    changes: storage.changes,
    ...(storage.bus ? { bus: storage.bus } : {}),
    health: storage.users,
  };
}
