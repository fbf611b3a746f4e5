import { ACR_SINGLE_FACTOR, type SessionAuthentication } from '../factors/factor.js';

/** A login: what its refresh tokens and the `sid` of its access tokens belong to. Times in ms since the epoch. */
export interface Session {
  readonly id: string;
  readonly userId: string;
  /** The confidential client that logged in, if one authenticated; its refreshes must authenticate as it too. */
  readonly clientId: string | null;
  /** What the login was granted; refreshes may only narrow it. */
  readonly scopes: readonly string[];
  readonly createdAt: number;
  readonly lastUsedAt: number;
  readonly idleExpiresAt: number;
  readonly expiresAt: number;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly revokedAt: number | null;
  readonly revokedReason: string | null;
  /** How the login was proved (amr, acr, auth_time); absent: a password login at createdAt (sessions before migration 0008). */
  readonly authentication?: SessionAuthentication;
  /**
   * For a session a code's exchange opened: the hosted pages' session that issued the code (the
   * ID token's `sid`). Ending that one ends this one, and tells its client (back-channel logout).
   */
  readonly browserSessionId?: string;
}

export type SessionEndReason =
  | 'logout'
  | 'logout_global'
  | 'revoked_by_user'
  | 'revoked_by_admin'
  | 'password_changed'
  | 'refresh_token_reused'
  | 'token_revoked'
  | 'user_disabled'
  | 'user_removed'
  | 'client_removed'
  | 'authorization_code_reused'
  /** The browser session whose code opened it ended (logout of the identity provider's session). */
  | 'browser_session_ended';

export function isSessionActive(session: Session, nowMs: number): boolean {
  return session.revokedAt === null && nowMs < session.idleExpiresAt && nowMs < session.expiresAt;
}

/** What the user sees of a session. */
export interface PublicSession {
  readonly id: string;
  readonly created_at: string;
  readonly last_used_at: string;
  readonly idle_expires_at: string;
  readonly expires_at: string;
  readonly ip: string | null;
  readonly user_agent: string | null;
  readonly scope: string;
  readonly current: boolean;
}

export function toPublicSession(session: Session, currentSessionId?: string): PublicSession {
  return {
    id: session.id,
    created_at: new Date(session.createdAt).toISOString(),
    last_used_at: new Date(session.lastUsedAt).toISOString(),
    idle_expires_at: new Date(session.idleExpiresAt).toISOString(),
    expires_at: new Date(session.expiresAt).toISOString(),
    ip: session.ip,
    user_agent: session.userAgent,
    scope: session.scopes.join(' '),
    current: session.id === currentSessionId,
  };
}

/** How a session's login was proved; a session without the record was a password login when it was opened. */
export function sessionAuthentication(session: Session): SessionAuthentication {
  return session.authentication ?? { amr: ['pwd'], acr: ACR_SINGLE_FACTOR, authTime: session.createdAt };
}
