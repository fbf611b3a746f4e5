/**
 * The storage layer's settings (where the database is and how it is used,
 * Redis for state shared by instances), declared as the table of core's
 * (name, what it accepts, default, doc), and the StorageConfig built from them.
 * The server joins every layer's table into one parse of the environment
 * (server/config.ts).
 */
import { integer, onOff, choice, optionalText, text, type Setting } from '../core/setting-types.js';
import type { ValuesOf } from '../core/setting-table.js';

export type DatabaseLocation =
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly pool: PostgresPoolSettings };

/** How Portcullis uses a PostgreSQL server: bounded, and failing fast when it is away. */
export interface PostgresPoolSettings {
  /** Connections per process. */
  readonly max: number;
  /** Longest wait for a connection (a new one, or a free one from the pool) before the request gets 503. */
  readonly connectTimeoutMs: number;
  /** Longest a statement may run; the server cancels it after that. */
  readonly statementTimeoutMs: number;
  /** An idle connection is closed after this long. */
  readonly idleTimeoutMs: number;
}

export const STORAGE_SETTINGS = {
  DATA_DIR: text({
    default: './data',
    accepts: 'path',
    doc: 'folder for the SQLite file and the generated secret key; created (mode 0700) if missing, but not the folders above it',
  }),
  DATABASE_URL: text({
    default: ({ DATA_DIR }) => `sqlite:${DATA_DIR}/portcullis.db`,
    defaultDoc: '`sqlite:$DATA_DIR/portcullis.db`',
    accepts: 'URL',
    doc:
      '`sqlite:PATH`, or `postgres://USER:PASSWORD@HOST:PORT/DATABASE` (any libpq-style URL node-postgres accepts, e.g. `?sslmode=verify-full` with `sslrootcert=`); never logged. ' +
      'A SQLite file outside `DATA_DIR` must be in a folder that exists: no other folder is created',
  }),
  SQLITE_GROUP_COMMIT: onOff({
    default: true,
    doc:
      'SQLite transactions that overlap in time share one synced COMMIT, so one disk sync serves many refreshes and logins; each client is still answered only after its own write is synced ' +
      '(durability as with `off`, one COMMIT per transaction). Reads outside transactions see committed data only',
  }),
  SQLITE_SYNCHRONOUS: choice({
    values: ['full', 'normal'],
    default: 'full',
    doc:
      'SQLite commit durability: `full` syncs every commit (an answered write survives a power cut); `normal` survives a crash of Portcullis but may lose the last commits on a power cut or OS crash, ' +
      'for several times the write rate (logged at start). See [docs/PERFORMANCE.md](PERFORMANCE.md)',
  }),
  DATABASE_POOL_MAX: integer({
    default: 10,
    min: 1,
    max: 1000,
    doc: "PostgreSQL: connections per process (× workers × instances must stay under the server's `max_connections`)",
  }),
  DATABASE_CONNECT_TIMEOUT_MS: integer({
    default: 2000,
    min: 100,
    max: 60_000,
    doc: 'PostgreSQL: longest wait for a connection (a new one, or a free one from the pool) before the request gets 503',
  }),
  DATABASE_STATEMENT_TIMEOUT_MS: integer({
    default: 5000,
    min: 100,
    max: 600_000,
    doc: 'PostgreSQL: the server cancels a statement after this (the request gets 503)',
  }),
  DATABASE_IDLE_TIMEOUT_MS: integer({
    default: 30_000,
    min: 1000,
    max: 3_600_000,
    doc: 'PostgreSQL: idle connections are closed after this',
  }),

  // State shared by instances.
  REDIS_URL: optionalText({
    accepts: 'URL',
    doc: 'share rate limits and login backoff across instances through Redis (`redis://` or `rediss://`)',
    check: (value, name) => (/^rediss?:\/\//.test(value) ? undefined : `${name} must start with redis:// or rediss://`),
  }),
  REDIS_KEY_PREFIX: text({
    default: 'portcullis:',
    accepts: '1–64 of `A-Z a-z 0-9 : _ . -`',
    doc: 'prepended to every Redis key, so several deployments can share one Redis',
    check: (value, name) => (/^[A-Za-z0-9:_.-]{1,64}$/.test(value) ? undefined : `${name} must be 1..64 of A-Z a-z 0-9 : _ . -`),
  }),
  REDIS_COMMAND_TIMEOUT_MS: integer({
    default: 200,
    min: 10,
    max: 10_000,
    doc: 'the longest a request waits for Redis before that request is counted in-process instead',
  }),
} as const satisfies Record<string, Setting<unknown>>;

export type StorageSettingValues = ValuesOf<typeof STORAGE_SETTINGS>;

export interface StorageConfig {
  readonly dataDir: string;
  readonly database: DatabaseLocation;
  /** Redis for state shared by instances (rate limits, login backoff); undefined = in-process. */
  readonly redisUrl: string | undefined;
  /** Prepended to every Redis key, so several deployments can share one Redis. */
  readonly redisKeyPrefix: string;
  /** Longest wait for one Redis command before the caller falls back to in-process state. */
  readonly redisCommandTimeoutMs: number;
  /**
   * SQLite's commit durability: 'full' (default) syncs every commit to disk, so an answered write survives
   * a power cut; 'normal' (WAL) survives a crash of the process but may lose the last commits on a power
   * cut or OS crash, for several times the write rate. A loosening: logged at start.
   */
  readonly sqliteSynchronous: 'full' | 'normal';
  /** SQLITE_GROUP_COMMIT=on (default): overlapping SQLite transactions share one synced COMMIT, each answered after it. */
  readonly sqliteGroupCommit: boolean;
}

/** The storage layer's config from its settings' values; a wrong DATABASE_URL is pushed to problems. */
export function storageConfig(settings: StorageSettingValues, problems: string[]): StorageConfig {
  const pool: PostgresPoolSettings = {
    max: settings.DATABASE_POOL_MAX,
    connectTimeoutMs: settings.DATABASE_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: settings.DATABASE_STATEMENT_TIMEOUT_MS,
    idleTimeoutMs: settings.DATABASE_IDLE_TIMEOUT_MS,
  };
  return {
    dataDir: settings.DATA_DIR,
    database: Object.freeze(parseDatabaseUrl(settings.DATABASE_URL, pool, problems)),
    redisUrl: settings.REDIS_URL,
    redisKeyPrefix: settings.REDIS_KEY_PREFIX,
    redisCommandTimeoutMs: settings.REDIS_COMMAND_TIMEOUT_MS,
    sqliteSynchronous: settings.SQLITE_SYNCHRONOUS,
    sqliteGroupCommit: settings.SQLITE_GROUP_COMMIT,
  };
}

export function parseDatabaseUrl(url: string, pool: PostgresPoolSettings, problems: string[]): DatabaseLocation {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') problems.push('DATABASE_URL sqlite: needs a file path, e.g. sqlite:./data/portcullis.db');
    return { kind: 'sqlite', path };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    if (!URL.canParse(url))
      problems.push('DATABASE_URL is not a valid postgres:// URL (percent-encode special characters in the password)');
    return { kind: 'postgres', url, pool };
  }
  // Only the scheme is echoed: the rest may hold a password.
  problems.push(
    `DATABASE_URL must be sqlite:PATH or postgres://USER@HOST:PORT/DATABASE (got a value starting ${JSON.stringify(url.split(':')[0]?.slice(0, 12))}:)`,
  );
  return { kind: 'sqlite', path: '' };
}
