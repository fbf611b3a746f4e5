/**
 * Sessions and their rotating refresh tokens over Kysely, written once for
 * every SQL dialect. Every revocation also appends to the revocation feed's
 * log in its own transaction (revocation-log.ts), and every opening writes
 * its audit event (the login) in its own (ADR 0012, ADR 0014).
 */
import type { AuthMethod } from '../../core/factors/factor.js';
import type { Selectable } from 'kysely';
import type { AuditEvent } from '../../core/audit/audit-event.js';
import type { KeptSession, RefreshTokenRecord, RefreshTokenRotation, RevokedSession, SessionStore } from '../../core/ports.js';
import { REVOCATION_LOG_RETENTION_MS } from '../../core/sessions/revocation-feed.js';
import type { Session, SessionEndReason } from '../../core/sessions/session.js';
import type { SqlDialect } from './dialects/dialect.js';
import type { RefreshTokensTable, SessionsTable } from './schema.js';
import { fromIso, fromIsoOrNull, iso } from './sql-time.js';
import { guardDriverErrors } from './driver-errors.js';
import { appendRevocations } from './revocation-log.js';
import { auditRow } from './audit-store.js';
import { endBrowserSessions } from './logout-delivery-store.js';

export class SqlSessionStore implements SessionStore {
  constructor(private readonly dialect: SqlDialect) {}

  private get db() {
    return this.dialect.db;
  }

  private guard<T>(operation: () => Promise<T>): Promise<T> {
    return guardDriverErrors(this.dialect, operation);
  }

  async create(session: Session, firstToken: { readonly id: string; readonly secretHash: string }, opening: AuditEvent): Promise<void> {
    await this.guard(() =>
      this.db.transaction().execute(async (trx) => {
        await trx.insertInto('sessions').values(toRow(session)).execute();
        await trx
          .insertInto('refresh_tokens')
          .values({
            id: firstToken.id,
            session_id: session.id,
            secret_hash: firstToken.secretHash,
            created_at: iso(session.createdAt),
            rotated_at: null,
            successor_id: null,
            successor_sealed: null,
          })
          .execute();
        await trx.insertInto('audit_events').values(auditRow(opening)).execute();
      }),
    );
  }

  async find(id: string): Promise<Session | undefined> {
    const row = await this.guard(() => this.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst());
    return row && toSession(row);
  }

  async listActive(userId: string, nowMs: number): Promise<Session[]> {
    const now = iso(nowMs);
    const rows = await this.guard(() =>
      this.db
        .selectFrom('sessions')
        .selectAll()
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .where('idle_expires_at', '>', now)
        .where('expires_at', '>', now)
        .orderBy('created_at', 'desc')
        .execute(),
    );
    return rows.map(toSession);
  }

  async countActive(nowMs: number): Promise<number> {
    const now = iso(nowMs);
    const row = await this.guard(() =>
      this.db
        .selectFrom('sessions')
        .select((eb) => eb.fn.countAll().as('active'))
        .where('revoked_at', 'is', null)
        .where('idle_expires_at', '>', now)
        .where('expires_at', '>', now)
        .executeTakeFirstOrThrow(),
    );
    // SQLite answers a number, PostgreSQL a bigint as a string.
    return Number(row.active);
  }

  async findRefreshToken(id: string): Promise<RefreshTokenRecord | undefined> {
    const row = await this.guard(() => this.db.selectFrom('refresh_tokens').selectAll().where('id', '=', id).executeTakeFirst());
    return row && toRefreshToken(row);
  }

  async rotate(rotation: RefreshTokenRotation): Promise<boolean> {
    const now = iso(rotation.nowMs);
    return this.guard(() =>
      this.db.transaction().execute(async (trx) => {
        // The conditional update is the lock: of concurrent rotations of one token, exactly one matches.
        const retired = await trx
          .updateTable('refresh_tokens')
          .set({ rotated_at: now, successor_id: rotation.next.id, successor_sealed: rotation.successorSealed })
          .where('id', '=', rotation.oldId)
          .where('rotated_at', 'is', null)
          .executeTakeFirst();
        if (retired.numUpdatedRows !== 1n) return false;
        await trx
          .insertInto('refresh_tokens')
          .values({
            id: rotation.next.id,
            session_id: rotation.sessionId,
            secret_hash: rotation.next.secretHash,
            created_at: now,
            rotated_at: null,
            successor_id: null,
            successor_sealed: null,
          })
          .execute();
        await trx
          .updateTable('sessions')
          .set({ last_used_at: now, idle_expires_at: iso(rotation.idleExpiresAt) })
          .where('id', '=', rotation.sessionId)
          .execute();
        return true;
      }),
    );
  }

  async revoke(id: string, reason: SessionEndReason, nowMs: number): Promise<boolean> {
    return this.guard(() =>
      this.db.transaction().execute(async (trx) => {
        const result = await trx
          .updateTable('sessions')
          .set({ revoked_at: iso(nowMs), revoked_reason: reason })
          .where('id', '=', id)
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        if (result.numUpdatedRows === 0n) return false;
        const linked = await endBrowserSessions(trx, [id], nowMs);
        await appendRevocations(
          trx,
          [id, ...linked].map((sessionId) => ({ sessionId })),
          nowMs,
          nowMs - REVOCATION_LOG_RETENTION_MS,
        );
        return true;
      }),
    );
  }

  revokeAllOfUser(userId: string, reason: SessionEndReason, nowMs: number, keep?: KeptSession): Promise<string[]> {
    return this.revokeWhere('user_id', userId, reason, nowMs, keep);
  }

  async openedBy(browserSessionId: string): Promise<string[]> {
    const rows = await this.guard(() =>
      this.db.selectFrom('sessions').select('id').where('browser_session_id', '=', browserSessionId).execute(),
    );
    return rows.map((row) => row.id);
  }

  revokeAllOfClient(clientId: string, reason: SessionEndReason, nowMs: number): Promise<string[]> {
    return this.revokeWhere('client_id', clientId, reason, nowMs);
  }

  private revokeWhere(
    column: 'user_id' | 'client_id',
    value: string,
    reason: SessionEndReason,
    nowMs: number,
    keep?: KeptSession,
  ): Promise<string[]> {
    return this.guard(() =>
      this.db.transaction().execute(async (trx) => {
        // One statement, so a session created meanwhile is either revoked or not touched, never half-seen.
        let update = trx
          .updateTable('sessions')
          .set({ revoked_at: iso(nowMs), revoked_reason: reason })
          .where(column, '=', value)
          .where('revoked_at', 'is', null);
        if (keep !== undefined) update = update.where('id', '!=', keep.sessionId);
        const ids = (await update.returning('id').execute()).map((row) => row.id);
        const linked = await endBrowserSessions(trx, ids, nowMs);
        const entries: RevokedSession[] = [...ids, ...linked].map((id) => ({ sessionId: id }));
        if (keep !== undefined) entries.push({ sessionId: keep.sessionId, minTokenVersion: keep.minTokenVersion });
        await appendRevocations(trx, entries, nowMs, nowMs - REVOCATION_LOG_RETENTION_MS);
        return [...ids, ...linked];
      }),
    );
  }
}

function toRow(session: Session): SessionsTable {
  return {
    id: session.id,
    user_id: session.userId,
    client_id: session.clientId,
    scope: session.scopes.join(' '),
    created_at: iso(session.createdAt),
    last_used_at: iso(session.lastUsedAt),
    idle_expires_at: iso(session.idleExpiresAt),
    expires_at: iso(session.expiresAt),
    ip: session.ip,
    user_agent: session.userAgent,
    revoked_at: session.revokedAt === null ? null : iso(session.revokedAt),
    revoked_reason: session.revokedReason,
    amr: session.authentication ? session.authentication.amr.join(' ') : null,
    acr: session.authentication?.acr ?? null,
    auth_time: session.authentication ? iso(session.authentication.authTime) : null,
    browser_session_id: session.browserSessionId ?? null,
  };
}

function toSession(row: Selectable<SessionsTable>): Session {
  return {
    id: row.id,
    userId: row.user_id,
    clientId: row.client_id,
    scopes: row.scope === '' ? [] : row.scope.split(' '),
    createdAt: fromIso(row.created_at),
    lastUsedAt: fromIso(row.last_used_at),
    idleExpiresAt: fromIso(row.idle_expires_at),
    expiresAt: fromIso(row.expires_at),
    ip: row.ip,
    userAgent: row.user_agent,
    revokedAt: fromIsoOrNull(row.revoked_at),
    revokedReason: row.revoked_reason,
    ...(row.amr === null || row.acr === null
      ? {}
      : {
          authentication: {
            amr: row.amr.split(' ') as AuthMethod[],
            acr: row.acr,
            authTime: row.auth_time === null ? fromIso(row.created_at) : fromIso(row.auth_time),
          },
        }),
    ...(row.browser_session_id === null ? {} : { browserSessionId: row.browser_session_id }),
  };
}

function toRefreshToken(row: Selectable<RefreshTokensTable>): RefreshTokenRecord {
  return {
    id: row.id,
    sessionId: row.session_id,
    secretHash: row.secret_hash,
    createdAt: fromIso(row.created_at),
    rotatedAt: fromIsoOrNull(row.rotated_at),
    successorId: row.successor_id,
    successorSealed: row.successor_sealed,
  };
}
