/** Security events, stored for people to read later. Never a password, hash, token or secret. */
export const AUDIT_EVENT_TYPES = [
  'login.success',
  'login.failure',
  'login.throttled',
  'refresh.reuse_detected',
  'client.token_issued',
  'client.auth_failure',
  'session.revoked',
  'password.changed',
  'password.reset_requested',
  'password.reset',
  'email.verification_requested',
  'email.verification_sent',
  'email.verified',
  'email.change_requested',
  'sign_in_link.requested',
  'user.created',
  'user.updated',
  'user.disabled',
  'user.enabled',
  'user.removed',
  'users.imported',
  'client.created',
  'client.removed',
  'client.updated',
  'authorization.code_issued',
  'authorization.consent_given',
  'authorization.code_reused',
  'logout.rp_initiated',
  'logout.backchannel_sent',
  'logout.backchannel_failed',
  'token.revoked',
  'key.rotated',
  'key.retired',
  'rate_limit.exceeded',
  'factor.enrolment_started',
  'factor.added',
  'factor.removed',
  'factor.renamed',
  'factor.reset',
  'recovery_codes.regenerated',
  'mfa.challenged',
  'mfa.failure',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];
export type AuditOutcome = 'success' | 'failure';

export interface AuditEventInput {
  readonly type: AuditEventType;
  readonly outcome: AuditOutcome;
  /** Who acted: a username, `client:<id>`, or `cli`. */
  readonly actor?: string | null;
  /** Whom it concerns: a username or `client:<id>`. */
  readonly subject?: string | null;
  readonly ip?: string | null;
  readonly details?: Readonly<Record<string, string | number | boolean | null>>;
}

export interface AuditEvent extends AuditEventInput {
  readonly id: string;
  readonly at: number;
}

export interface AuditFilter {
  readonly type?: string;
  readonly subject?: string;
  readonly actor?: string;
  readonly outcome?: AuditOutcome;
  readonly since?: number;
  readonly until?: number;
  /** Newest first; pass the previous page's `next` to continue. */
  readonly before?: string;
  readonly limit: number;
}

export interface AuditPage {
  readonly events: readonly AuditEvent[];
  readonly next: string | undefined;
}

export interface PublicAuditEvent {
  readonly id: string;
  readonly at: string;
  readonly type: string;
  readonly outcome: string;
  readonly actor: string | null;
  readonly subject: string | null;
  readonly ip: string | null;
  readonly details: Readonly<Record<string, unknown>>;
}

export function toPublicAuditEvent(event: AuditEvent): PublicAuditEvent {
  return {
    id: event.id,
    at: new Date(event.at).toISOString(),
    type: event.type,
    outcome: event.outcome,
    actor: event.actor ?? null,
    subject: event.subject ?? null,
    ip: event.ip ?? null,
    details: event.details ?? {},
  };
}
