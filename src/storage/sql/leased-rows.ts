/**
 * The leases that the mail outbox and the back-channel logout deliveries share (ADR 0022): rows
 * `queued` until sent or given up, claimed by one relay at a time for `leaseMs` (an expired lease
 * may be claimed again), finished only by the lease's owner, and pruned a while after they finish.
 * One implementation for both tables; each store adds what its rows carry.
 */
import type { Kysely } from 'kysely';
import type { OutboxClaim, OutboxFailure } from '../../core/outbox/outbox-message.js';
import type { SqlDialect } from './dialects/dialect.js';
import type { Database } from './schema.js';
import { iso } from './sql-time.js';

export type LeasedTable = 'mail_outbox' | 'logout_deliveries';

/** The columns a leased table has (both tables' types have them, with these types). */
interface LeaseColumns {
  id: string;
  status: string;
  attempts: number;
  next_attempt_at: string;
  lease_owner: string | null;
  lease_until: string | null;
  finished_at: string | null;
  last_error: string | null;
}

/** Longer transport errors are cut: the column is for a person reading `mail status`, not a log. */
const MAX_ERROR_LENGTH = 500;

/** The dialect's database seen through the lease columns alone, so one query serves either table. */
function leaseDb(dialect: SqlDialect): Kysely<Record<LeasedTable, LeaseColumns>> {
  return dialect.db as unknown as Kysely<Record<LeasedTable, LeaseColumns>>;
}

/** Leases up to `limit` due rows to `owner` (one attempt more each), oldest due first; answers the rows as leased. */
export async function claimDue<T extends LeasedTable>(
  dialect: SqlDialect,
  table: T,
  { owner, nowMs, leaseMs, limit }: OutboxClaim,
): Promise<Database[T][]> {
  const now = iso(nowMs);
  const rows = await leaseDb(dialect)
    // Materialised, so the pick (and its LIMIT) runs once: PostgreSQL may otherwise run a subquery of IN again per row.
    .with(
      (cte) => cte('due').materialized(),
      (db) => {
        const due = db
          .selectFrom(table as LeasedTable)
          .select('id')
          .where('status', '=', 'queued')
          .where('next_attempt_at', '<=', now)
          .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now)]))
          .orderBy('next_attempt_at')
          .orderBy('id')
          .limit(limit);
        return dialect.skipsLockedRows ? due.forUpdate().skipLocked() : due;
      },
    )
    .updateTable(table as LeasedTable)
    .set((eb) => ({ lease_owner: owner, lease_until: iso(nowMs + leaseMs), attempts: eb('attempts', '+', 1) }))
    .where('id', 'in', (eb) => eb.selectFrom('due').select('due.id'))
    // Checked again on the row as it is now: a row another claim took meanwhile is not taken twice.
    .where('status', '=', 'queued')
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now)]))
    .returningAll()
    .execute();
  // RETURNING keeps no order: oldest due first, as picked.
  rows.sort((a, b) => (a.next_attempt_at < b.next_attempt_at ? -1 : a.next_attempt_at > b.next_attempt_at ? 1 : a.id < b.id ? -1 : 1));
  return rows as unknown as Database[T][];
}

/** The lease's owner says the row was sent; `cleared`: columns the store empties on finishing (a mail's body). */
export async function markSent(
  dialect: SqlDialect,
  table: LeasedTable,
  id: string,
  owner: string,
  nowMs: number,
  cleared: Readonly<Record<string, string>> = {},
): Promise<boolean> {
  const result = await leaseDb(dialect)
    .updateTable(table)
    .set({ ...cleared, status: 'sent', finished_at: iso(nowMs), lease_owner: null, lease_until: null })
    .where('id', '=', id)
    .where('status', '=', 'queued')
    .where('lease_owner', '=', owner)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** The lease's owner says the attempt failed: tried again at `retryAt`, or given up (with `cleared` emptied). */
export async function markFailed(
  dialect: SqlDialect,
  table: LeasedTable,
  id: string,
  { owner, nowMs, retryAt, error }: OutboxFailure,
  cleared: Readonly<Record<string, string>> = {},
): Promise<boolean> {
  const lastError = error.slice(0, MAX_ERROR_LENGTH);
  const result = await leaseDb(dialect)
    .updateTable(table)
    .set(
      retryAt === undefined
        ? { ...cleared, status: 'failed', finished_at: iso(nowMs), lease_owner: null, lease_until: null, last_error: lastError }
        : { lease_owner: null, lease_until: null, next_attempt_at: iso(retryAt), last_error: lastError },
    )
    .where('id', '=', id)
    .where('status', '=', 'queued')
    .where('lease_owner', '=', owner)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Deletes up to `limit` rows that finished before `beforeMs`; answers how many. */
export async function pruneFinished(dialect: SqlDialect, table: LeasedTable, beforeMs: number, limit: number): Promise<number> {
  const before = iso(beforeMs);
  const result = await leaseDb(dialect)
    // Materialised, as the claim's pick: the LIMIT holds once, however PostgreSQL plans the IN.
    .with(
      (cte) => cte('old').materialized(),
      (db) => {
        const old = db
          .selectFrom(table)
          .select('id')
          .where('status', 'in', ['sent', 'failed'])
          .where('finished_at', '<', before)
          // Implied by the line above (a row is claimed only once due, so it was due before it finished),
          // and what the (status, next_attempt_at) index serves: the look-up reads the old rows only.
          .where('next_attempt_at', '<', before)
          .limit(limit);
        return dialect.skipsLockedRows ? old.forUpdate().skipLocked() : old;
      },
    )
    .deleteFrom(table)
    .where('id', 'in', (eb) => eb.selectFrom('old').select('old.id'))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
