/**
 * `portcullis db copy --from URL --to URL`: moves a deployment to another
 * database (SQLite to PostgreSQL, back, or to another file). Both sides are
 * migrated to this version's schema first; the target must be empty; the copy
 * is all or nothing and its counts are verified (storage/sql/copy-tables.ts).
 * A database is named by its kind, host and name only, never with its
 * password, and no row is ever printed. The command line (cli/commands/db-copy.ts)
 * parses the options and prints; this opens, copies and closes.
 */
import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDatabaseUrl, type DatabaseLocation, type PostgresPoolSettings } from '../storage/settings.js';
import { loadConfig } from './config.js';
import { copyTables, type CopyProgress, type TableCount } from '../storage/sql/copy-tables.js';
import { openStorage, type SqlStorage } from '../storage/sql/open-storage.js';
import { describeLocation, decoded, postgresTarget } from './database-location.js';
import { describeError } from './exit-codes.js';

export type { CopyProgress, TableCount } from '../storage/sql/copy-tables.js';
export { describeLocation } from './database-location.js';

const POOL_SETTINGS = ['DATABASE_POOL_MAX', 'DATABASE_CONNECT_TIMEOUT_MS', 'DATABASE_STATEMENT_TIMEOUT_MS', 'DATABASE_IDLE_TIMEOUT_MS'];

/** The two sides of a copy, or what is wrong with the options (`--from`, `--to` named as given). */
export type CopyPlan =
  { readonly from: DatabaseLocation; readonly to: DatabaseLocation; readonly problem?: undefined } | { readonly problem: string };

/** Reads --from and --to (with the pool settings of env, as the server would use them) and refuses a copy onto itself. */
export function planCopy(fromUrl: string, toUrl: string, env: NodeJS.ProcessEnv): CopyPlan {
  const pool = poolSettingsFromEnv(env);
  const from = parseLocation(fromUrl, '--from', pool);
  if (typeof from === 'string') return { problem: from };
  const to = parseLocation(toUrl, '--to', pool);
  if (typeof to === 'string') return { problem: to };
  if (sameDatabase(from, to)) return { problem: `--from and --to are the same database (${describeLocation(from)})` };
  return { from, to };
}

export interface CopyOptions {
  readonly batchSize: number;
  readonly onProgress: (progress: CopyProgress) => void;
  /** Told when a side was migrated before the copy. */
  readonly onNote: (note: string) => void;
}

/** Copies every table; on failure nothing is written to the target, and the error holds no password. */
export async function copyDatabase(from: DatabaseLocation, to: DatabaseLocation, options: CopyOptions): Promise<TableCount[]> {
  // Opening a SQLite path creates the file: a mistyped source would otherwise be "copied" as an empty database.
  if (from.kind === 'sqlite' && !existsSync(from.path)) throw new Error(`The source database ${describeLocation(from)} does not exist`);
  let source: SqlStorage | undefined;
  let target: SqlStorage | undefined;
  try {
    source = await openMigrated(from, 'source', options.onNote);
    target = await openMigrated(to, 'target', options.onNote);
    return await copyTables(source.dialect.db, target.dialect.db, { batchSize: options.batchSize, onProgress: options.onProgress });
  } catch (error) {
    // Driver messages should hold no password; this makes sure of it.
    throw new Error(`${redact(describeError(error), [from, to])}\nNo rows were written to the target.`, { cause: error });
  } finally {
    await Promise.all([source?.close(), target?.close()]);
  }
}

/** Both sides on this version's schema, so their tables are the same; a newer schema is refused (SchemaTooNewError). */
async function openMigrated(location: DatabaseLocation, side: 'source' | 'target', onNote: (note: string) => void): Promise<SqlStorage> {
  let storage: SqlStorage | undefined;
  try {
    storage = openStorage(location);
    const { applied, current } = await storage.migrate();
    if (applied.length > 0) onNote(`Migrated the ${side} to schema ${current} (${applied.length} migration(s))`);
    return storage;
  } catch (error) {
    await storage?.close().catch(() => undefined);
    throw new Error(`The ${side} database (${describeLocation(location)}): ${describeError(error)}`, { cause: error });
  }
}

/** The pool settings the server would use, read and checked by loadConfig; --from and --to stand in for DATABASE_URL. */
function poolSettingsFromEnv(env: NodeJS.ProcessEnv): PostgresPoolSettings {
  const only = Object.fromEntries(POOL_SETTINGS.map((name) => [name, env[name]]));
  const { database } = loadConfig({ ...only, DATABASE_URL: 'postgres://localhost/portcullis' }, { secretKeyRequired: false });
  if (database.kind !== 'postgres') throw new Error('expected PostgreSQL pool settings');
  return database.pool;
}

/** The location, or the problem with it. */
function parseLocation(url: string, option: string, pool: PostgresPoolSettings): DatabaseLocation | string {
  const problems: string[] = [];
  const location = parseDatabaseUrl(url, pool, problems);
  if (problems.length > 0) return problems.map((problem) => problem.replace(/^DATABASE_URL/, option)).join('; ');
  if (location.kind === 'sqlite' && location.path === ':memory:') return `${option}: an in-memory database cannot be copied`;
  return location;
}

function canonicalPath(path: string): string {
  const absolute = resolve(path);
  try {
    return realpathSync(absolute);
  } catch {
    return absolute;
  }
}

function sameDatabase(a: DatabaseLocation, b: DatabaseLocation): boolean {
  if (a.kind === 'sqlite' && b.kind === 'sqlite') return canonicalPath(a.path) === canonicalPath(b.path);
  if (a.kind === 'postgres' && b.kind === 'postgres') {
    const [x, y] = [postgresTarget(a.url), postgresTarget(b.url)];
    return x.host === y.host && x.port === y.port && x.database === y.database;
  }
  return false;
}

function redact(text: string, locations: readonly DatabaseLocation[]): string {
  let result = text;
  for (const location of locations) {
    if (location.kind !== 'postgres') continue;
    const password = new URL(location.url).password;
    for (const secret of [location.url, password, decoded(password)]) {
      if (secret !== '') result = result.split(secret).join('***');
    }
  }
  return result;
}
