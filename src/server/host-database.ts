/**
 * Portcullis on a database connection the host application already has: a
 * Kysely instance, SQLite (better-sqlite3) or PostgreSQL (node-postgres),
 * named by `dialect`. Portcullis runs its queries on it, never changes its
 * settings, and never closes it: the connection stays the host's.
 *
 * What a connection of the host's cannot give:
 * - a signal of what other processes changed (SQLite's data_version needs the
 *   driver's handle; PostgreSQL's LISTEN needs a connection of its own), so the
 *   authentication cache is bypassed: each bearer request reads its session
 *   and user (two primary-key look-ups), and with an asymmetric ALGORITHM the
 *   signing keys, and a revocation or key change made anywhere, the CLI
 *   included, takes effect on the next request;
 * - the instance's plugins: Portcullis uses the connection without them
 *   (`withoutPlugins()`), since a CamelCasePlugin, say, would rename its columns (ADR 0005).
 */
import { sql, type Kysely } from 'kysely';
import { classifyPostgresError, POSTGRES_COLUMN_TYPES } from '../storage/sql/dialects/postgres.js';
import { classifySqliteError, SQLITE_COLUMN_TYPES } from '../storage/sql/dialects/sqlite.js';
import type { SqlDialect } from '../storage/sql/dialects/dialect.js';
import { storageOn, type SqlStorage } from '../storage/sql/open-storage.js';
import type { Database } from '../storage/sql/schema.js';

export interface HostDatabase {
  /** Any Kysely instance; its database type does not matter (Portcullis has its own tables). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a host's Kysely<HostSchema> must be accepted as it is
  readonly kysely: Kysely<any>;
  readonly dialect: 'sqlite' | 'postgres';
}

export async function useHostDatabase(host: HostDatabase): Promise<SqlStorage> {
  if (host.dialect !== 'sqlite' && host.dialect !== 'postgres') {
    throw new TypeError(`database.dialect must be 'sqlite' or 'postgres' (got ${JSON.stringify(host.dialect)})`);
  }
  const db = host.kysely.withoutPlugins() as Kysely<Database>;
  const dialect: SqlDialect = {
    name: host.dialect,
    db,
    skipsLockedRows: host.dialect === 'postgres',
    columnTypes: host.dialect === 'postgres' ? POSTGRES_COLUMN_TYPES : SQLITE_COLUMN_TYPES,
    classifyError: host.dialect === 'postgres' ? classifyPostgresError : classifySqliteError,
    externalChangeVersion: () => undefined,
    close: async () => undefined,
  };
  if (host.dialect === 'sqlite') await assertForeignKeysOn(db);
  return storageOn(dialect);
}

/** Removing a user removes its sessions by ON DELETE CASCADE, which SQLite enforces only with foreign_keys on. */
async function assertForeignKeysOn(db: Kysely<Database>): Promise<void> {
  const { rows } = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db);
  if (rows[0]?.foreign_keys !== 1) {
    throw new TypeError("The SQLite connection must enforce foreign keys: run database.pragma('foreign_keys = ON') on it first");
  }
}
