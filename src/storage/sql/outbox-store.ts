/**
 * The mail outbox over Kysely, for every SQL dialect (ADR 0022). A claim is one UPDATE of the due,
 * unleased rows (picked with FOR UPDATE SKIP LOCKED where the database has row locks), whose WHERE
 * checks again that each row is still queued and unleased: of concurrent claims, each row goes to
 * one. `insertOutboxMessage` is what a store of another table calls to write a message in its own
 * transaction, next to the token the message carries.
 */
import type { Kysely, Selectable } from 'kysely';
import type {
  ClaimedMessage,
  OutboxClaim,
  OutboxEntry,
  OutboxFailure,
  OutboxMessage,
  OutboxStats,
  OutboxStatus,
} from '../../core/outbox/outbox-message.js';
import type { OutboxStore } from '../../core/ports.js';
import type { SqlDialect } from './dialects/dialect.js';
import { guardDriverErrors } from './driver-errors.js';
import type { Database, MailOutboxTable } from './schema.js';
import { fromIso, fromIsoOrNull, iso } from './sql-time.js';

/** Longer transport errors are cut: the column is for a person reading `mail status`, not a log. */
const MAX_ERROR_LENGTH = 500;

/** The row of a new, queued message, due at once. */
export function outboxRow(message: OutboxMessage): MailOutboxTable {
  return {
    id: message.id,
    kind: message.kind,
    recipient: message.to,
    subject: message.subject,
    body_text: message.text,
    body_html: message.html,
    status: 'queued',
    attempts: 0,
    created_at: iso(message.createdAt),
    next_attempt_at: iso(message.createdAt),
    lease_owner: null,
    lease_until: null,
    finished_at: null,
    last_error: null,
  };
}

/** Writes a queued message with `db`: a transaction of the caller's, so that it commits with what else the caller writes. */
export async function insertOutboxMessage(db: Kysely<Database>, message: OutboxMessage): Promise<void> {
  await db.insertInto('mail_outbox').values(outboxRow(message)).execute();
}

export class SqlOutboxStore implements OutboxStore {
  constructor(private readonly dialect: SqlDialect) {}

  private get db() {
    return this.dialect.db;
  }

  private guard<T>(operation: () => Promise<T>): Promise<T> {
    return guardDriverErrors(this.dialect, operation);
  }

  async enqueue(message: OutboxMessage): Promise<void> {
    await this.guard(() => insertOutboxMessage(this.db, message));
  }

  async claim({ owner, nowMs, leaseMs, limit }: OutboxClaim): Promise<ClaimedMessage[]> {
    const now = iso(nowMs);
    const rows = await this.guard(() =>
      this.db
        // Materialised, so the pick (and its LIMIT) runs once: PostgreSQL may otherwise run a subquery of IN again per row.
        .with(
          (cte) => cte('due').materialized(),
          (db) => {
            const due = db
              .selectFrom('mail_outbox')
              .select('id')
              .where('status', '=', 'queued')
              .where('next_attempt_at', '<=', now)
              .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now)]))
              .orderBy('next_attempt_at')
              .orderBy('id')
              .limit(limit);
            return this.dialect.skipsLockedRows ? due.forUpdate().skipLocked() : due;
          },
        )
        .updateTable('mail_outbox')
        .set((eb) => ({ lease_owner: owner, lease_until: iso(nowMs + leaseMs), attempts: eb('attempts', '+', 1) }))
        .where('id', 'in', (eb) => eb.selectFrom('due').select('due.id'))
        // Checked again on the row as it is now: a row another claim took meanwhile is not taken twice.
        .where('status', '=', 'queued')
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now)]))
        .returningAll()
        .execute(),
    );
    return rows
      .sort((a, b) => (a.next_attempt_at < b.next_attempt_at ? -1 : a.next_attempt_at > b.next_attempt_at ? 1 : a.id < b.id ? -1 : 1))
      .map((row) => ({ ...toMessage(row), attempts: row.attempts, leaseUntil: nowMs + leaseMs }));
  }

  async markSent(id: string, owner: string, nowMs: number): Promise<boolean> {
    const result = await this.guard(() =>
      this.db
        .updateTable('mail_outbox')
        .set({ ...FINISHED, status: 'sent', finished_at: iso(nowMs) })
        .where('id', '=', id)
        .where('status', '=', 'queued')
        .where('lease_owner', '=', owner)
        .executeTakeFirst(),
    );
    return result.numUpdatedRows === 1n;
  }

  async markFailed(id: string, { owner, nowMs, retryAt, error }: OutboxFailure): Promise<boolean> {
    const lastError = error.slice(0, MAX_ERROR_LENGTH);
    const result = await this.guard(() =>
      this.db
        .updateTable('mail_outbox')
        .set(
          retryAt === undefined
            ? { ...FINISHED, status: 'failed', finished_at: iso(nowMs), last_error: lastError }
            : { lease_owner: null, lease_until: null, next_attempt_at: iso(retryAt), last_error: lastError },
        )
        .where('id', '=', id)
        .where('status', '=', 'queued')
        .where('lease_owner', '=', owner)
        .executeTakeFirst(),
    );
    return result.numUpdatedRows === 1n;
  }

  async find(id: string): Promise<OutboxEntry | undefined> {
    const row = await this.guard(() => this.db.selectFrom('mail_outbox').selectAll().where('id', '=', id).executeTakeFirst());
    return row && toEntry(row);
  }

  async stats(nowMs: number): Promise<OutboxStats> {
    const now = iso(nowMs);
    const [counts, queued] = await this.guard(() =>
      Promise.all([
        this.db
          .selectFrom('mail_outbox')
          .select((eb) => ['status', eb.fn.countAll().as('count')])
          .groupBy('status')
          .execute(),
        this.db
          .selectFrom('mail_outbox')
          .select((eb) => [
            eb.fn.min('created_at').as('oldest'),
            eb.fn.count(eb.case().when('lease_until', '>', now).then(1).end()).as('sending'),
          ])
          .where('status', '=', 'queued')
          .executeTakeFirst(),
      ]),
    );
    // SQLite answers a number, PostgreSQL a bigint as a string.
    const count = (status: OutboxStatus) => Number(counts.find((row) => row.status === status)?.count ?? 0);
    const oldestAt = queued?.oldest == null ? undefined : fromIso(queued.oldest);
    return {
      queued: count('queued'),
      sending: Number(queued?.sending ?? 0),
      sent: count('sent'),
      failed: count('failed'),
      oldestQueuedAgeMs: oldestAt === undefined ? 0 : Math.max(0, nowMs - oldestAt),
    };
  }

  async prune(beforeMs: number, limit: number): Promise<number> {
    const before = iso(beforeMs);
    const result = await this.guard(() =>
      this.db
        // Materialised, as the claim's pick: the LIMIT holds once, however PostgreSQL plans the IN.
        .with(
          (cte) => cte('old').materialized(),
          (db) => {
            const old = db
              .selectFrom('mail_outbox')
              .select('id')
              .where('status', 'in', ['sent', 'failed'])
              .where('finished_at', '<', before)
              // Implied by the line above (a message is claimed only once due, so it was due before it finished),
              // and what the (status, next_attempt_at) index serves: the look-up reads the old rows only.
              .where('next_attempt_at', '<', before)
              .limit(limit);
            return this.dialect.skipsLockedRows ? old.forUpdate().skipLocked() : old;
          },
        )
        .deleteFrom('mail_outbox')
        .where('id', 'in', (eb) => eb.selectFrom('old').select('old.id'))
        .executeTakeFirst(),
    );
    return Number(result.numDeletedRows);
  }
}

/** A sent or given-up message: no lease, and no body (it may carry a token). */
const FINISHED = { lease_owner: null, lease_until: null, subject: '', body_text: '', body_html: '' } as const;

function toMessage(row: Selectable<MailOutboxTable>): OutboxMessage {
  return {
    id: row.id,
    kind: row.kind,
    to: row.recipient,
    subject: row.subject,
    text: row.body_text,
    html: row.body_html,
    createdAt: fromIso(row.created_at),
  };
}

function toEntry(row: Selectable<MailOutboxTable>): OutboxEntry {
  return {
    ...toMessage(row),
    status: row.status as OutboxStatus,
    attempts: row.attempts,
    nextAttemptAt: fromIso(row.next_attempt_at),
    leaseOwner: row.lease_owner,
    leaseUntil: fromIsoOrNull(row.lease_until),
    finishedAt: fromIsoOrNull(row.finished_at),
    lastError: row.last_error,
  };
}
