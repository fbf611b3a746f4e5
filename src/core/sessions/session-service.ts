/** Opening, listing and ending sessions. Refresh-token rotation lives in tokens/token-service.ts. */
import { randomToken } from '../secrets.js';
import type { SessionAuthentication } from '../factors/factor.js';
import type { ActionContext } from '../action-context.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Invalidation } from '../auth-cache.js';
import type { Clock } from '../clock.js';
import { NotFoundError } from '../errors.js';
import type { SessionStore } from '../ports.js';
import type { User } from '../users/user.js';
import { generateRefreshToken } from './refresh-token.js';
import type { Session, SessionEndReason } from './session.js';

export interface SessionSettings {
  readonly idleSeconds: number;
  readonly maxSeconds: number;
}

export interface OpenedSession {
  readonly session: Session;
  /** For the client only: never stored, never logged. */
  readonly refreshToken: string;
}

/** How a login that was not by password proved who it is. */
export type LoginMethod = 'sign_in_link' | 'mfa' | 'passkey' | 'authorization_code';

const USER_AGENT_MAX = 256;

export class SessionService {
  constructor(
    private readonly store: SessionStore,
    private readonly clock: Clock,
    private readonly settings: SessionSettings,
    private readonly audit: AuditLog,
    private readonly invalidation: Invalidation,
  ) {}

  get idleMs(): number {
    return this.settings.idleSeconds * 1000;
  }

  /**
   * A login: the session, its first refresh token and the `login.success` audit event, stored in
   * one transaction (one synced commit). `method` names a login that was not by password in the
   * event's details (`sign_in_link`). `browserSessionId`: the hosted pages' session whose code this
   * login exchanged (ending that one ends this one).
   */
  async open(
    user: User,
    scopes: readonly string[],
    clientId: string | null,
    context: ActionContext,
    method?: LoginMethod,
    authentication?: SessionAuthentication,
    browserSessionId?: string,
  ): Promise<OpenedSession> {
    const now = this.clock.now();
    const session: Session = {
      id: randomToken(16),
      userId: user.id,
      clientId,
      scopes,
      createdAt: now,
      lastUsedAt: now,
      idleExpiresAt: Math.min(now + this.settings.idleSeconds * 1000, now + this.settings.maxSeconds * 1000),
      expiresAt: now + this.settings.maxSeconds * 1000,
      ip: context.ip,
      userAgent: context.userAgent ? context.userAgent.slice(0, USER_AGENT_MAX) : null,
      revokedAt: null,
      revokedReason: null,
      ...(authentication === undefined ? {} : { authentication }),
      ...(browserSessionId === undefined ? {} : { browserSessionId }),
    };
    const first = generateRefreshToken();
    const opening = this.audit.stamp({
      type: 'login.success',
      outcome: 'success',
      actor: user.username,
      subject: user.username,
      ip: context.ip,
      details: {
        session: session.id,
        ...(clientId === null ? {} : { client: clientId }),
        ...(method === undefined ? {} : { method }),
        // A second step says which factors it took; a password or link login says it by `method` (or its absence).
        ...((method === 'mfa' || method === 'passkey') && authentication !== undefined ? { amr: authentication.amr.join(' ') } : {}),
      },
    });
    await this.store.create(session, { id: first.id, secretHash: first.secretHash }, opening);
    return { session, refreshToken: first.token };
  }

  listActive(user: User): Promise<Session[]> {
    return this.store.listActive(user.id, this.clock.now());
  }

  /** Ends one session of the user; NotFoundError when it is not theirs or already over. */
  async revokeOfUser(user: User, sessionId: string, reason: SessionEndReason, context: ActionContext): Promise<void> {
    const session = await this.store.find(sessionId);
    if (!session || session.userId !== user.id || !(await this.revoke(session, reason, context, user.username))) {
      throw new NotFoundError('No such session');
    }
  }

  /** Ends a session; false when it was over already. */
  async revoke(session: Session, reason: SessionEndReason, context: ActionContext, subject: string | null): Promise<boolean> {
    const revoked = await this.store.revoke(session.id, reason, this.clock.now());
    this.invalidation.sessionChanged(session.id);
    // A session of no client may be a browser session, whose codes' sessions ended with it (in the store).
    if (revoked && session.clientId === null) {
      for (const id of await this.store.openedBy(session.id)) this.invalidation.sessionChanged(id);
    }
    if (revoked) {
      await this.audit.record({
        type: 'session.revoked',
        outcome: 'success',
        actor: context.actor,
        subject,
        ip: context.ip,
        details: { session: session.id, reason },
      });
    }
    return revoked;
  }

  /** Ends every session of the user; returns how many ended. */
  async revokeAll(user: User, reason: SessionEndReason, context: ActionContext): Promise<number> {
    const ids = await this.store.revokeAllOfUser(user.id, reason, this.clock.now());
    this.invalidation.sessionsOfUserChanged(user.id);
    if (ids.length > 0) {
      await this.audit.record({
        type: 'session.revoked',
        outcome: 'success',
        actor: context.actor,
        subject: user.username,
        ip: context.ip,
        details: { sessions: ids.length, reason },
      });
    }
    return ids.length;
  }
}
