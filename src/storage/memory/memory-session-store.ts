/**
 * SessionStore in Maps, for tests and embedding without a database. Every
 * revocation is appended to `revocations` (the feed's log), and every
 * opening's audit event to the audit store given, as the SQL store does in its
 * transaction. Each method runs to completion without awaiting,
 * so a conditional update (rotate, revoke) is atomic in one process.
 */
import type { KeptSession, RefreshTokenRecord, RefreshTokenRotation, SessionStore } from '../../core/ports.js';
import { REVOCATION_LOG_RETENTION_MS } from '../../core/sessions/revocation-feed.js';
import { isSessionActive, type Session, type SessionEndReason } from '../../core/sessions/session.js';
import type { AuditEvent } from '../../core/audit/audit-event.js';
import type { MemoryAuditStore } from './memory-audit-store.js';
import { MemoryRevocationLog } from './memory-revocation-log.js';

export class MemorySessionStore implements SessionStore {
  /** The feed's log (GET /revocations) that this store writes. */
  readonly revocations = new MemoryRevocationLog();
  private readonly sessions = new Map<string, Session>();
  private readonly tokens = new Map<string, RefreshTokenRecord>();

  /** `audit`: where a session's opening event goes (the log the services read). */
  constructor(private readonly audit: MemoryAuditStore) {}

  async create(session: Session, firstToken: { readonly id: string; readonly secretHash: string }, opening: AuditEvent): Promise<void> {
    if (this.sessions.has(session.id) || this.tokens.has(firstToken.id))
      throw new Error(`session ${session.id} or its token exists already`);
    // All or nothing: the event first, since it is the only write that can still be refused.
    this.audit.add(opening);
    this.sessions.set(session.id, Object.freeze({ ...session, scopes: Object.freeze([...session.scopes]) }));
    this.tokens.set(
      firstToken.id,
      Object.freeze({
        id: firstToken.id,
        sessionId: session.id,
        secretHash: firstToken.secretHash,
        createdAt: session.createdAt,
        rotatedAt: null,
        successorId: null,
        successorSealed: null,
      }),
    );
  }

  async find(id: string): Promise<Session | undefined> {
    return this.sessions.get(id);
  }

  async listActive(userId: string, nowMs: number): Promise<Session[]> {
    return [...this.sessions.values()]
      .filter((session) => session.userId === userId && isSessionActive(session, nowMs))
      .sort((a, b) => b.createdAt - a.createdAt);
  }

  async countActive(nowMs: number): Promise<number> {
    let active = 0;
    for (const session of this.sessions.values()) if (isSessionActive(session, nowMs)) active += 1;
    return active;
  }

  async findRefreshToken(id: string): Promise<RefreshTokenRecord | undefined> {
    return this.tokens.get(id);
  }

  async rotate(rotation: RefreshTokenRotation): Promise<boolean> {
    const old = this.tokens.get(rotation.oldId);
    if (!old || old.rotatedAt !== null) return false;
    const now = rotation.nowMs;
    this.tokens.set(
      old.id,
      Object.freeze({ ...old, rotatedAt: now, successorId: rotation.next.id, successorSealed: rotation.successorSealed }),
    );
    this.tokens.set(
      rotation.next.id,
      Object.freeze({
        id: rotation.next.id,
        sessionId: rotation.sessionId,
        secretHash: rotation.next.secretHash,
        createdAt: now,
        rotatedAt: null,
        successorId: null,
        successorSealed: null,
      }),
    );
    const session = this.sessions.get(rotation.sessionId);
    if (session) this.sessions.set(session.id, Object.freeze({ ...session, lastUsedAt: now, idleExpiresAt: rotation.idleExpiresAt }));
    return true;
  }

  async revoke(id: string, reason: SessionEndReason, nowMs: number): Promise<boolean> {
    const session = this.sessions.get(id);
    if (!session || session.revokedAt !== null) return false;
    this.end(session, reason, nowMs);
    const linked = this.endLinked([id], nowMs);
    this.revocations.append(
      [id, ...linked].map((sessionId) => ({ sessionId })),
      nowMs,
      nowMs - REVOCATION_LOG_RETENTION_MS,
    );
    return true;
  }

  async revokeAllOfUser(userId: string, reason: SessionEndReason, nowMs: number, keep?: KeptSession): Promise<string[]> {
    return this.revokeWhere((session) => session.userId === userId, reason, nowMs, keep);
  }

  async openedBy(browserSessionId: string): Promise<string[]> {
    return [...this.sessions.values()].filter((session) => session.browserSessionId === browserSessionId).map((session) => session.id);
  }

  async revokeAllOfClient(clientId: string, reason: SessionEndReason, nowMs: number): Promise<string[]> {
    return this.revokeWhere((session) => session.clientId === clientId, reason, nowMs);
  }

  private revokeWhere(matches: (session: Session) => boolean, reason: SessionEndReason, nowMs: number, keep?: KeptSession): string[] {
    const ids: string[] = [];
    for (const session of this.sessions.values()) {
      if (session.revokedAt !== null || !matches(session) || session.id === keep?.sessionId) continue;
      this.end(session, reason, nowMs);
      ids.push(session.id);
    }
    ids.push(...this.endLinked(ids, nowMs));
    const entries = ids.map((sessionId) => ({ sessionId }));
    const logged = keep === undefined ? entries : [...entries, { sessionId: keep.sessionId, minTokenVersion: keep.minTokenVersion }];
    this.revocations.append(logged, nowMs, nowMs - REVOCATION_LOG_RETENTION_MS);
    return ids;
  }

  /** The sessions codes of the ended browser sessions opened end with them (no back-channel queue here: the SQL store's). */
  private endLinked(endedIds: readonly string[], nowMs: number): string[] {
    const ended = new Set(endedIds);
    const ids: string[] = [];
    for (const session of this.sessions.values()) {
      if (session.revokedAt !== null || session.browserSessionId === undefined || !ended.has(session.browserSessionId)) continue;
      this.end(session, 'browser_session_ended', nowMs);
      ids.push(session.id);
    }
    return ids;
  }

  private end(session: Session, reason: SessionEndReason, nowMs: number): void {
    this.sessions.set(session.id, Object.freeze({ ...session, revokedAt: nowMs, revokedReason: reason }));
  }
}
