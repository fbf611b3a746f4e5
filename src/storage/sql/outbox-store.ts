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
import { claimDue, markFailed, markSent, pruneFinished } from './leased-rows.js';
import { fromIso, fromIsoOrNull, iso } from './sql-time.js';

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

  async claim(claim: OutboxClaim): Promise<ClaimedMessage[]> {
    const rows = await this.guard(() => claimDue(this.dialect, 'mail_outbox', claim));
    return rows.map((row) => ({ ...toMessage(row), attempts: row.attempts, leaseUntil: claim.nowMs + claim.leaseMs }));
  }

  markSent(id: string, owner: string, nowMs: number): Promise<boolean> {
    return this.guard(() => markSent(this.dialect, 'mail_outbox', id, owner, nowMs, CLEARED));
  }

  markFailed(id: string, failure: OutboxFailure): Promise<boolean> {
    return this.guard(() => markFailed(this.dialect, 'mail_outbox', id, failure, CLEARED));
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

  prune(beforeMs: number, limit: number): Promise<number> {
    return this.guard(() => pruneFinished(this.dialect, 'mail_outbox', beforeMs, limit));
  }
}

/** What a sent or given-up message no longer keeps: its body (it may carry a token). */
const CLEARED = { subject: '', body_text: '', body_html: '' } as const;

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
