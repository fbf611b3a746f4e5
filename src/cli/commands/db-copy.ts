/**
 * `portcullis db copy --from URL --to URL`: moves a deployment to another
 * database (SQLite to PostgreSQL, back, or to another file). Both sides are
 * migrated to this version's schema first; the target must be empty; the copy
 * is all or nothing and its counts are verified (storage/sql/copy-tables.ts).
 * A database is printed as its kind, host and name only, never with its
 * password, and no row is ever printed.
 */
import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig, parseDatabaseUrl, type DatabaseLocation, type PostgresPoolSettings } from '../../core/config.js';
import { copyTables, type CopyProgress, type TableCount } from '../../storage/sql/copy-tables.js';
import { openStorage, type SqlStorage } from '../../storage/sql/open-storage.js';
import { describeError, EXIT_OK } from '../context.js';
import { decoded, describeLocation, postgresTarget } from '../database-location.js';
import { integerOption } from '../options.js';
import { UsageError } from '../prompt.js';
import { printTable } from '../table.js';

export interface DbCopyOptions {
  readonly from: string;
  readonly to: string;
  readonly batchSize?: string;
}

const DEFAULT_BATCH_SIZE = 1000;
/** A progress line at least this often (rows) while a table is copied, or after this long, whichever comes first. */
const PROGRESS_EVERY_ROWS = 5000;
const PROGRESS_EVERY_MS = 1000;

const POOL_SETTINGS = ['DATABASE_POOL_MAX', 'DATABASE_CONNECT_TIMEOUT_MS', 'DATABASE_STATEMENT_TIMEOUT_MS', 'DATABASE_IDLE_TIMEOUT_MS'];

export async function dbCopyCommand(options: DbCopyOptions): Promise<number> {
  const batchSize = integerOption(options.batchSize, '--batch-size', 1, 100_000) ?? DEFAULT_BATCH_SIZE;
  const pool = poolSettingsFromEnv(process.env);
  const from = parseLocation(options.from, '--from', pool);
  const to = parseLocation(options.to, '--to', pool);
  if (sameDatabase(from, to)) throw new UsageError(`--from and --to are the same database (${describeLocation(from)})`);
  // Opening a SQLite path creates the file: a mistyped source would otherwise be "copied" as an empty database.
  if (from.kind === 'sqlite' && !existsSync(from.path)) throw new Error(`The source database ${describeLocation(from)} does not exist`);

  console.error(
    `Copying ${describeLocation(from)} to ${describeLocation(to)} in batches of ${batchSize} ${batchSize === 1 ? 'row' : 'rows'}`,
  );
  let source: SqlStorage | undefined;
  let target: SqlStorage | undefined;
  let counts: TableCount[];
  try {
    source = await openMigrated(from, 'source');
    target = await openMigrated(to, 'target');
    counts = await copyTables(source.dialect.db, target.dialect.db, { batchSize, onProgress: progressPrinter() });
  } catch (error) {
    // Driver messages should hold no password; this makes sure of it.
    throw new Error(`${redact(describeError(error), [from, to])}\nNo rows were written to the target.`, { cause: error });
  } finally {
    await Promise.all([source?.close(), target?.close()]);
  }

  printTable(
    ['table', 'rows copied'],
    [...counts.map(({ table, rows }) => [table, String(rows)]), ['total', String(counts.reduce((sum, { rows }) => sum + rows, 0))]],
  );
  console.log(
    [
      '',
      `Copied ${describeLocation(from)} to ${describeLocation(to)}; every table holds the same number of rows on both sides.`,
      'Signing keys and pending refresh-token successors were copied as they are, sealed under SECRET_KEY:',
      'run Portcullis on the new database with the same SECRET_KEY (or the same DATA_DIR/secret.key if SECRET_KEY is unset).',
      'Next: start Portcullis with DATABASE_URL set to the --to URL.',
    ].join('\n'),
  );
  return EXIT_OK;
}

/** Both sides on this version's schema, so their tables are the same; a newer schema is refused (SchemaTooNewError). */
async function openMigrated(location: DatabaseLocation, side: 'source' | 'target'): Promise<SqlStorage> {
  let storage: SqlStorage | undefined;
  try {
    storage = openStorage(location);
    const { applied, current } = await storage.migrate();
    if (applied.length > 0) console.error(`Migrated the ${side} to schema ${current} (${applied.length} migration(s))`);
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

function parseLocation(url: string, option: string, pool: PostgresPoolSettings): DatabaseLocation {
  const problems: string[] = [];
  const location = parseDatabaseUrl(url, pool, problems);
  if (problems.length > 0) throw new UsageError(problems.map((problem) => problem.replace(/^DATABASE_URL/, option)).join('; '));
  if (location.kind === 'sqlite' && location.path === ':memory:') throw new UsageError(`${option}: an in-memory database cannot be copied`);
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

/** "users: 12000/50000" on stderr: every PROGRESS_EVERY_ROWS rows or PROGRESS_EVERY_MS, and once when a table is done. */
function progressPrinter(now: () => number = Date.now): (progress: CopyProgress) => void {
  let table: string | undefined;
  let printedRows = 0;
  let printedAt = now();
  return (progress) => {
    if (progress.table !== table) {
      table = progress.table;
      printedRows = 0;
      printedAt = now();
    }
    const due = progress.copied - printedRows >= PROGRESS_EVERY_ROWS || now() - printedAt >= PROGRESS_EVERY_MS;
    if (progress.done ? progress.copied === printedRows && printedRows > 0 : !due) return;
    console.error(`${progress.table}: ${progress.copied}/${progress.total}`);
    printedRows = progress.copied;
    printedAt = now();
  };
}
