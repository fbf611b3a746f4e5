/**
 * SQLite through better-sqlite3: one file, WAL mode, by default synchronous=FULL so a
 * commit that was acknowledged survives a crash of the process or the host. By default
 * (SQLITE_GROUP_COMMIT=on) transactions that overlap in time share one COMMIT, and so one
 * sync: see sqlite-group-commit.ts (ADR 0011).
 */
import { closeSync, openSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { prepareSqliteFolder } from '../../data-folder.js';
import type { Database } from '../schema.js';
import type { ColumnTypes, DriverErrorKind, SqlDialect } from './dialect.js';
import { SqliteGroupCommitDialect } from './sqlite-group-commit.js';

export const SQLITE_COLUMN_TYPES: ColumnTypes = Object.freeze({ text: 'text' });

/**
 * `groupCommit` false: one COMMIT per transaction, through Kysely's own SqliteDialect. A
 * `:memory:` database never groups (nothing to sync, and no second connection can see it),
 * nor one where WAL mode could not be set. The file's folder must exist, unless it is the data
 * folder `dataDir`, which is then created (data-folder.ts).
 */
export function openSqlite(path: string, synchronous: 'full' | 'normal' = 'full', groupCommit = true, dataDir?: string): SqlDialect {
  if (path !== ':memory:') {
    prepareSqliteFolder(path, dataDir);
    // The file holds password hashes: create it readable by its owner only (SQLite gives -wal and -shm the same mode).
    closeSync(openSync(path, 'a', 0o600));
  }
  const database = new BetterSqlite3(path);
  const wal = database.pragma('journal_mode = WAL', { simple: true }) === 'wal';
  database.pragma(synchronous === 'full' ? 'synchronous = FULL' : 'synchronous = NORMAL');
  database.pragma('busy_timeout = 5000');
  database.pragma('foreign_keys = ON');
  let dialect: SqliteDialect | SqliteGroupCommitDialect;
  try {
    dialect =
      // The reader connection needs WAL (readers that neither wait for nor block the writer).
      groupCommit && wal && path !== ':memory:'
        ? new SqliteGroupCommitDialect({ database, reader: openReader(path) })
        : new SqliteDialect({ database });
  } catch (error) {
    database.close();
    throw error;
  }
  const db = new Kysely<Database>({ dialect });
  // data_version changes whenever another connection (the CLI, another process) commits; our own commits do not move it.
  const dataVersion = database.prepare('PRAGMA data_version').pluck();
  // Read once per turn of the event loop, not once per look-up (it was ~8 % of a /users/me profile).
  // That is as exact: a request handled in this turn arrived before the turn's poll returned, and
  // the version is read after that, so a commit made before the request was sent is always seen.
  let version = -1;
  let fresh = false;
  const expire = () => {
    fresh = false;
  };
  const externalChangeVersion = (): number => {
    if (!database.open) return -1;
    if (!fresh) {
      version = dataVersion.get() as number;
      fresh = true;
      setImmediate(expire);
    }
    return version;
  };
  return {
    name: 'sqlite',
    db,
    skipsLockedRows: false,
    columnTypes: SQLITE_COLUMN_TYPES,
    classifyError: classifySqliteError,
    externalChangeVersion,
    close: () => db.destroy(),
  };
}

/** Group commit's connection for reads outside transactions: it sees committed data only, and may not write. */
function openReader(path: string): BetterSqlite3.Database {
  const reader = new BetterSqlite3(path);
  try {
    reader.pragma('busy_timeout = 5000');
    reader.pragma('query_only = ON');
  } catch (error) {
    reader.close();
    throw error;
  }
  return reader;
}

export function classifySqliteError(error: unknown): DriverErrorKind | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return 'unique_violation';
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code === 'SQLITE_IOERR' || code === 'SQLITE_CANTOPEN') {
    return 'unavailable';
  }
  return undefined;
}
