/**
 * Copies every Portcullis table from one database to another (SQLite to PostgreSQL, back, or file to file) on
 * the same migrated schema: the source read in one transaction (a consistent snapshot while a server still
 * writes) in keyset batches by primary key, never OFFSET; the target, which must be empty, written in one
 * transaction whose row counts are verified before it commits, so it holds every row or none.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

/**
 * Every table with its primary key, parents before children (sessions
 * reference users, refresh tokens reference sessions). A table added to
 * Database and not listed here is a compile error, so the copy cannot miss it.
 */
const PRIMARY_KEYS = {
  users: 'id',
  sessions: 'id',
  refresh_tokens: 'id',
  clients: 'id',
  audit_events: 'id',
  signing_keys: 'kid',
  session_revocations: 'seq',
  revocation_sequence: 'id',
  mail_outbox: 'id',
  mail_tokens: 'id',
  auth_factors: 'id',
  recovery_codes: 'id',
  mfa_challenges: 'token_hash',
  webauthn_login_challenges: 'challenge_hash',
  authorization_codes: 'code_hash',
  client_consents: 'id',
  logout_deliveries: 'id',
} as const satisfies { readonly [T in keyof Database]: keyof Database[T] & string };

export type TableName = keyof Database;

/** The tables in the order they are copied (foreign keys point backwards). */
export const COPY_ORDER: readonly TableName[] = Object.freeze(Object.keys(PRIMARY_KEYS) as TableName[]);

/** Under SQLite's 32,766 bound parameters per statement (PostgreSQL allows 65,535). */
const MAX_PARAMETERS_PER_INSERT = 30_000;

export interface TableCount {
  readonly table: TableName;
  readonly rows: number;
}

export interface CopyProgress {
  readonly table: TableName;
  readonly copied: number;
  /** The rows the source's snapshot holds in this table. */
  readonly total: number;
  /** true once per table, when it is done (also for an empty table). */
  readonly done: boolean;
}

export interface CopyTablesOptions {
  /** Rows read per query. */
  readonly batchSize: number;
  /** Called after every batch and once at the end of each table; row contents are never passed. */
  readonly onProgress?: (progress: CopyProgress) => void;
}

/** The target holds rows already: the copy never merges. */
export class TargetNotEmptyError extends Error {
  constructor(readonly tables: readonly TableCount[]) {
    super(
      `The target database is not empty (${tables.map(describeCount).join(', ')}); ` +
        'db copy only fills an empty database and never merges: use a new, empty database',
    );
    this.name = 'TargetNotEmptyError';
  }
}

export interface CountMismatch {
  readonly table: TableName;
  readonly source: number;
  readonly copied: number;
  readonly target: number;
}

/** The target's count of a table differs from the source's; the copy was rolled back. */
export class CopyVerificationError extends Error {
  constructor(readonly mismatches: readonly CountMismatch[]) {
    super(
      `Row counts differ after the copy (${mismatches
        .map((m) => `${m.table}: source ${m.source}, copied ${m.copied}, target ${m.target}`)
        .join('; ')}); the copy was rolled back`,
    );
    this.name = 'CopyVerificationError';
  }
}

/** Copying one table failed; `cause` is the driver's error. */
export class TableCopyError extends Error {
  constructor(
    readonly table: TableName,
    readonly copied: number,
    readonly total: number,
    cause: unknown,
  ) {
    super(`Copying ${table} failed after ${copied} of ${total} rows: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = 'TableCopyError';
  }
}

/** Rows per table in `db`, in copy order. */
export async function countRows(db: Kysely<Database>): Promise<TableCount[]> {
  const counts: TableCount[] = [];
  for (const table of COPY_ORDER) {
    const { rows } = await loose(db)
      .selectFrom(table)
      .select((eb) => eb.fn.countAll().as('rows'))
      .executeTakeFirstOrThrow();
    // PostgreSQL returns count(*) as a bigint string.
    counts.push({ table, rows: Number(rows) });
  }
  return counts;
}

/**
 * Copies every table from `source` to `target` (both migrated to the same
 * schema). Returns the verified row count of each table, in copy order.
 * Throws TargetNotEmptyError, TableCopyError or CopyVerificationError, and the
 * target is then as it was.
 */
export async function copyTables(source: Kysely<Database>, target: Kysely<Database>, options: CopyTablesOptions): Promise<TableCount[]> {
  if (!Number.isSafeInteger(options.batchSize) || options.batchSize < 1) throw new TypeError('batchSize must be a positive integer');
  return source
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (reader) => {
      const totals = await countRows(reader);
      return target.transaction().execute(async (writer) => {
        const present = (await countRows(writer)).filter((count) => count.rows > 0);
        if (present.length > 0) throw new TargetNotEmptyError(present);

        const copied = new Map<TableName, number>();
        for (const { table, rows: total } of totals) {
          copied.set(table, await copyTable(reader, writer, table, total, options));
        }

        const written = await countRows(writer);
        const mismatches = totals
          .map(({ table, rows }, i): CountMismatch => ({
            table,
            source: rows,
            copied: copied.get(table) ?? 0,
            target: written[i]?.rows ?? -1,
          }))
          .filter((m) => m.source !== m.copied || m.source !== m.target);
        if (mismatches.length > 0) throw new CopyVerificationError(mismatches);
        return written;
      });
    });
}

async function copyTable(
  reader: Transaction<Database>,
  writer: Transaction<Database>,
  table: TableName,
  total: number,
  { batchSize, onProgress }: CopyTablesOptions,
): Promise<number> {
  const key = PRIMARY_KEYS[table];
  let copied = 0;
  let after: unknown;
  try {
    for (;;) {
      let query = loose(reader).selectFrom(table).selectAll().orderBy(key).limit(batchSize);
      if (after !== undefined) query = query.where(key, '>', after);
      const rows = await query.execute();
      if (rows.length === 0) break;
      const rowsPerInsert = Math.max(1, Math.floor(MAX_PARAMETERS_PER_INSERT / Object.keys(rows[0]!).length));
      for (let i = 0; i < rows.length; i += rowsPerInsert) {
        await loose(writer)
          .insertInto(table)
          .values(rows.slice(i, i + rowsPerInsert))
          .execute();
      }
      copied += rows.length;
      after = rows[rows.length - 1]![key];
      onProgress?.({ table, copied, total, done: false });
      if (rows.length < batchSize) break;
    }
  } catch (error) {
    throw new TableCopyError(table, copied, total, error);
  }
  onProgress?.({ table, copied, total, done: true });
  return copied;
}

/** Rows as they are: the copy moves columns by name without knowing them. */
type AnyRow = Record<string, unknown>;

function loose(db: Kysely<Database>): Kysely<Record<TableName, AnyRow>> {
  return db as unknown as Kysely<Record<TableName, AnyRow>>;
}

function describeCount({ table, rows }: TableCount): string {
  return `${table}: ${rows} ${rows === 1 ? 'row' : 'rows'}`;
}
