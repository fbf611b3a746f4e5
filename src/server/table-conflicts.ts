/**
 * Portcullis's tables have plain names (users, sessions, ...), so a database
 * it shares with a host application may already hold a table of that name
 * that is the host's. Migrating over it would fail half-way (SQLite runs DDL
 * outside transactions) or, worse, leave Portcullis reading the host's rows.
 * Before migrating, a table that exists although the migration creating it
 * has not run is refused, by name (ADR 0021).
 */
import { sql } from 'kysely';
import type { Database } from '../storage/sql/schema.js';
import type { SqlDialect } from '../storage/sql/dialects/dialect.js';
import { executedMigrationNames, MIGRATION_TABLE } from '../storage/sql/migrator.js';

/** The migration that creates each table; typed by the schema, so a new table cannot be forgotten here. */
export const TABLE_MIGRATIONS: Readonly<Record<keyof Database, string>> = Object.freeze({
  users: '0001-init',
  sessions: '0002-lifecycle',
  refresh_tokens: '0002-lifecycle',
  clients: '0002-lifecycle',
  audit_events: '0002-lifecycle',
  signing_keys: '0003-signing-keys',
  session_revocations: '0004-revocation-feed',
  revocation_sequence: '0004-revocation-feed',
  mail_outbox: '0005-outbox',
  mail_tokens: '0007-email-verification',
  auth_factors: '0008-second-factors',
  recovery_codes: '0008-second-factors',
  mfa_challenges: '0008-second-factors',
  webauthn_login_challenges: '0009-webauthn',
  authorization_codes: '0011-oauth-clients',
  client_consents: '0011-oauth-clients',
  logout_deliveries: '0012-logout',
});

/**
 * Tables an earlier migration creates and a later one drops: a host's table of that name would
 * still stop the creating migration half-way on a database that has not run it.
 */
export const RETIRED_TABLE_MIGRATIONS: Readonly<Record<string, string>> = Object.freeze({
  password_reset_tokens: '0006-password-resets',
});

export class TableConflictError extends Error {
  constructor(readonly tables: readonly string[]) {
    super(
      `The database already has ${tables.length === 1 ? 'a table' : 'tables'} named ${tables.join(', ')} that Portcullis did not create; ` +
        `it will not migrate over ${tables.length === 1 ? 'it' : 'them'}. Portcullis needs the names ` +
        `${[...Object.keys(TABLE_MIGRATIONS), MIGRATION_TABLE].join(', ')} for itself: give it a database of its own`,
    );
    this.name = 'TableConflictError';
  }
}

/**
 * Another instance may be migrating the same database right now (instances starting together):
 * its tables can appear a moment before its migration records do (SQLite runs DDL outside
 * Kysely's migration transaction). So the tables are read before the records, and a conflict is
 * looked at again a few times before it is believed.
 */
const RECHECKS = 4;
const RECHECK_DELAY_MS = 500;

export async function assertNoForeignTables(dialect: SqlDialect): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    const foreign = await foreignTables(dialect);
    if (foreign.length === 0) return;
    if (attempt >= RECHECKS) throw new TableConflictError(foreign);
    await new Promise((resolve) => setTimeout(resolve, RECHECK_DELAY_MS));
  }
}

async function foreignTables(dialect: SqlDialect): Promise<string[]> {
  // Tables first: a migration's record commits with or after its tables, never before.
  const present = await tableNames(dialect);
  const executed = new Set(await executedMigrationNames(dialect.db));
  return Object.entries({ ...TABLE_MIGRATIONS, ...RETIRED_TABLE_MIGRATIONS })
    .filter(([table, migration]) => present.has(table) && !executed.has(migration))
    .map(([table]) => table);
}

/** Tables and views where unqualified names resolve: PostgreSQL's current schema (others may hold a `users` of their own). */
async function tableNames(dialect: SqlDialect): Promise<Set<string>> {
  const tables = await dialect.db.introspection.getTables();
  if (dialect.name !== 'postgres') return new Set(tables.map((table) => table.name));
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(dialect.db);
  const schema = rows[0]?.schema;
  return new Set(tables.filter((table) => table.schema === schema).map((table) => table.name));
}
