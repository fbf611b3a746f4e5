/**
 * Why `portcullis serve` could not start, as one line for a person: what it
 * could not do, where, and the system's reason with its code, e.g.
 * "cannot listen on 127.0.0.1:8000: address already in use (EADDRINUSE)".
 * No stack: that goes to the log at debug level (LOG_LEVEL=debug).
 */
import type { Logger } from 'pino';
import type { DatabaseLocation } from '../storage/settings.js';
import { classifyPostgresError } from '../storage/sql/dialects/postgres.js';
import { classifySqliteError } from '../storage/sql/dialects/sqlite.js';
import { describeLocation } from './database-location.js';
import { describeError } from './exit-codes.js';

/** The system's words for the error codes a start runs into. */
const REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'address not available',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'timed out',
  EPIPE: 'connection closed',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed (temporary)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

interface SystemError {
  readonly code?: unknown;
  readonly syscall?: unknown;
  readonly address?: unknown;
  readonly port?: unknown;
}

export function describeStartupFailure(error: unknown, database: DatabaseLocation): string {
  const { code, syscall, address, port } = (typeof error === 'object' && error !== null ? error : {}) as SystemError;
  if ((syscall === 'listen' || syscall === 'bind') && typeof code === 'string' && typeof address === 'string') {
    const host = address.includes(':') ? `[${address}]` : address;
    return `cannot listen on ${host}:${String(port)}: ${withCode(code, describeError(error))}`;
  }
  const classify = database.kind === 'postgres' ? classifyPostgresError : classifySqliteError;
  if (classify(error) === 'unavailable') {
    const what = database.kind === 'postgres' ? 'cannot reach the database' : 'cannot open the database';
    return `${what} (${describeLocation(database)}): ${typeof code === 'string' ? withCode(code, describeError(error)) : describeError(error)}`;
  }
  return `could not start: ${describeError(error)}`;
}

/** "connection refused (ECONNREFUSED)"; the error's own message where the code is not one of ours. */
function withCode(code: string, message: string): string {
  const reason = REASONS[code];
  if (reason !== undefined) return `${reason} (${code})`;
  return message.includes(code) ? message : `${message} (${code})`;
}

/**
 * Says it once, on stderr (also when LOG_LEVEL=silent): `portcullis: <reason>`. The error with its
 * stack is logged at debug level, for whoever needs to see where it came from.
 */
export function reportStartupFailure(logger: Logger, error: unknown, reason: string): void {
  logger.debug({ err: error }, reason);
  console.error(`portcullis: ${reason}`);
}
