/**
 * PostgreSQL through node-postgres: a bounded pool that fails fast. When the
 * server is away (restarting, unreachable, out of connections) a request
 * waits at most DATABASE_CONNECT_TIMEOUT_MS for a connection and then gets a
 * StorageUnavailableError (503); a statement runs at most
 * DATABASE_STATEMENT_TIMEOUT_MS. Broken connections are dropped by the pool,
 * and new ones are made as requests need them, so service comes back by
 * itself once the server does.
 */
import { loadPg } from '../lazy-pg.js';
import { Kysely, PostgresDialect, sql } from 'kysely';
import type { PostgresPoolSettings } from '../../settings.js';
import type { Database } from '../schema.js';
import type { ColumnTypes, DriverErrorKind, SqlDialect } from './dialect.js';

/** Code-point order for keys, ids and ISO timestamps, as SQLite compares them. */
export const POSTGRES_COLUMN_TYPES: ColumnTypes = Object.freeze({ text: sql`text collate "C"` });

export function openPostgres(url: string, settings: PostgresPoolSettings): SqlDialect {
  const pool = new (loadPg().Pool)({
    connectionString: url,
    max: settings.max,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    idleTimeoutMillis: settings.idleTimeoutMs,
    // The server cancels a statement after this; the client gives up a little later in case the server cannot answer at all.
    statement_timeout: settings.statementTimeoutMs,
    query_timeout: settings.statementTimeoutMs + 1000,
    application_name: 'portcullis',
    keepAlive: true,
  });
  // An idle connection that the server closed (a restart) emits 'error' on the pool; the pool has already
  // dropped it, and the next request opens a new one. Without a listener the process would crash.
  pool.on('error', () => undefined);
  // The pool listens only to idle clients. A connection that breaks while a request holds it (a query
  // in flight, or between the statements of a transaction) emits 'error' on its client with nobody
  // listening, and the process crashed (found by test/scale/faults.test.ts cutting PostgreSQL under
  // load). The query in flight is rejected anyway (StorageUnavailableError, 503), a later one on the
  // same client is refused as "not queryable" (also 503), and the pool drops the client on release.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    name: 'postgres',
    db,
    skipsLockedRows: true,
    columnTypes: POSTGRES_COLUMN_TYPES,
    classifyError: classifyPostgresError,
    externalChangeVersion: () => undefined,
    close: () => db.destroy(),
  };
}

/** SQLSTATE classes and codes that mean "the database is not there right now", not "this request is wrong". */
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown (a restart)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, recovering)
  '53300', // too_many_connections
  '57014', // query_canceled (statement_timeout)
  '40001', // serialization_failure
  '40P01', // deadlock_detected
]);

/** Network-level failures from the socket or from the pool itself (these carry no SQLSTATE). */
const UNAVAILABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Connection ended unexpectedly/i;

export function classifyPostgresError(error: unknown): DriverErrorKind | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  if (code === '23505') return 'unique_violation';
  if (typeof code === 'string') {
    if (UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08') || UNAVAILABLE_ERRNOS.has(code)) return 'unavailable';
    return undefined;
  }
  return UNAVAILABLE_MESSAGES.test(error.message) ? 'unavailable' : undefined;
}
