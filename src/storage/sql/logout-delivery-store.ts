/**
 * Back-channel logout deliveries over Kysely (migration 0012), an outbox with leases as the mail's
 * (outbox-store.ts, ADR 0022). `endBrowserSessions` is what the session store calls, in the
 * transaction that ends sessions: the sessions that codes of an ended browser session opened end
 * too (their refresh tokens stop working), and each of their clients with a backchannel_logout_uri
 * is owed one logout token per browser session. So ending a session and owing the tokens commit
 * together, and nothing waits on a client.
 */
import type { Selectable, Transaction } from 'kysely';
import {
  LOGOUT_DELIVERY_KIND,
  type ClaimedLogoutDelivery,
  type LogoutDeliveryEntry,
  type LogoutDeliveryStore,
} from '../../core/logout/logout-delivery.js';
import type { OutboxClaim, OutboxFailure, OutboxStatus } from '../../core/outbox/outbox-message.js';
import { randomToken } from '../../core/secrets.js';
import type { SqlDialect } from './dialects/dialect.js';
import { guardDriverErrors } from './driver-errors.js';
import type { Database, LogoutDeliveriesTable } from './schema.js';
import { claimDue, markFailed, markSent, pruneFinished } from './leased-rows.js';
import { fromIso, fromIsoOrNull, iso } from './sql-time.js';

/** Longer errors are cut: the column is for a person, not a log. */
/** Bound parameters per IN list, well under SQLite's limit. */
const CHUNK = 500;

/**
 * In `trx`, after the sessions `endedIds` ended: ends the sessions their codes opened (reason
 * `browser_session_ended`) and queues a logout token for each client of those sessions that
 * registered a backchannel_logout_uri. Returns the ids of the sessions it ended.
 */
export async function endBrowserSessions(trx: Transaction<Database>, endedIds: readonly string[], nowMs: number): Promise<string[]> {
  const now = iso(nowMs);
  const ended: string[] = [];
  for (let start = 0; start < endedIds.length; start += CHUNK) {
    const ids = endedIds.slice(start, start + CHUNK);
    const revoked = await trx
      .updateTable('sessions')
      .set({ revoked_at: now, revoked_reason: 'browser_session_ended' })
      .where('browser_session_id', 'in', ids)
      .where('revoked_at', 'is', null)
      .returning('id')
      .execute();
    ended.push(...revoked.map((row) => row.id));
    // Every client a code of these browser sessions was exchanged by (its session ended now or before) that takes logout tokens.
    const linked = await trx
      .selectFrom('sessions')
      .innerJoin('clients', 'clients.id', 'sessions.client_id')
      .select(['sessions.browser_session_id', 'sessions.user_id', 'clients.id as client_id', 'clients.backchannel_logout_uri'])
      .where('sessions.browser_session_id', 'in', ids)
      .where('clients.backchannel_logout_uri', '!=', '')
      .execute();
    // One token per client and browser session, however many sessions its codes opened.
    const owed = new Map<string, LogoutDeliveriesTable>();
    for (const row of linked) {
      if (row.browser_session_id === null) continue;
      const key = `${row.client_id} ${row.browser_session_id}`;
      if (owed.has(key)) continue;
      owed.set(key, {
        id: randomToken(16),
        client_id: row.client_id,
        uri: row.backchannel_logout_uri,
        user_id: row.user_id,
        browser_session_id: row.browser_session_id,
        status: 'queued',
        attempts: 0,
        created_at: now,
        next_attempt_at: now,
        lease_owner: null,
        lease_until: null,
        finished_at: null,
        last_error: null,
      });
    }
    if (owed.size > 0)
      await trx
        .insertInto('logout_deliveries')
        .values([...owed.values()])
        .execute();
  }
  return ended;
}

export class SqlLogoutDeliveryStore implements LogoutDeliveryStore {
  constructor(private readonly dialect: SqlDialect) {}

  private get db() {
    return this.dialect.db;
  }

  private guard<T>(operation: () => Promise<T>): Promise<T> {
    return guardDriverErrors(this.dialect, operation);
  }

  async claim(claim: OutboxClaim): Promise<ClaimedLogoutDelivery[]> {
    const rows = await this.guard(() => claimDue(this.dialect, 'logout_deliveries', claim));
    return rows.map((row) => ({ ...toDelivery(row), attempts: row.attempts, leaseUntil: claim.nowMs + claim.leaseMs }));
  }

  markSent(id: string, owner: string, nowMs: number): Promise<boolean> {
    return this.guard(() => markSent(this.dialect, 'logout_deliveries', id, owner, nowMs));
  }

  markFailed(id: string, failure: OutboxFailure): Promise<boolean> {
    return this.guard(() => markFailed(this.dialect, 'logout_deliveries', id, failure));
  }

  prune(beforeMs: number, limit: number): Promise<number> {
    return this.guard(() => pruneFinished(this.dialect, 'logout_deliveries', beforeMs, limit));
  }

  async listForBrowserSession(browserSessionId: string): Promise<LogoutDeliveryEntry[]> {
    const rows = await this.guard(() =>
      this.db
        .selectFrom('logout_deliveries')
        .selectAll()
        .where('browser_session_id', '=', browserSessionId)
        .orderBy('created_at')
        .orderBy('id')
        .execute(),
    );
    return rows.map((row) => ({
      ...toDelivery(row),
      status: row.status as OutboxStatus,
      attempts: row.attempts,
      nextAttemptAt: fromIso(row.next_attempt_at),
      finishedAt: fromIsoOrNull(row.finished_at),
      lastError: row.last_error,
    }));
  }
}

function toDelivery(row: Selectable<LogoutDeliveriesTable>) {
  return {
    id: row.id,
    kind: LOGOUT_DELIVERY_KIND,
    clientId: row.client_id,
    uri: row.uri,
    userId: row.user_id,
    browserSessionId: row.browser_session_id,
    createdAt: fromIso(row.created_at),
  } as const;
}
