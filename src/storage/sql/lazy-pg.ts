/**
 * node-postgres, loaded the first time a PostgreSQL database is opened, so
 * that a SQLite deployment (and every CLI command on one) never pays for
 * loading it at start. pg is CommonJS, so a synchronous require serves, and
 * openPostgres (public, synchronous) stays synchronous.
 */
import { createRequire } from 'node:module';
import type pg from 'pg';

const require = createRequire(import.meta.url);
let loaded: typeof pg | undefined;

export function loadPg(): typeof pg {
  loaded ??= require('pg') as typeof pg;
  return loaded;
}
