/**
 * Label values for the metrics, each from a small fixed set: no request can
 * mint a new time series (a raw URL, a username or an arbitrary method never
 * becomes a label value).
 */
import type { AuditEvent } from '../../core/audit/audit-event.js';
import { LoginThrottledError, PortcullisError, RateLimitedError } from '../../core/errors.js';

/** Password logins, as core decides them (the audit log), plus those the login backoff refused first. */
export const LOGIN_OUTCOMES = ['success', 'wrong_password', 'unknown_user', 'disabled', 'throttled'] as const;
export type LoginOutcome = (typeof LOGIN_OUTCOMES)[number] | 'other';

/** `grant_type=refresh_token` requests at POST /token, by how they ended. */
export const REFRESH_OUTCOMES = ['success', 'reused', 'invalid', 'rate_limited', 'error'] as const;
export type RefreshOutcome = (typeof REFRESH_OUTCOMES)[number];

/** The rate-limit buckets (core's `ip` and `account`) and the login backoff / spraying throttle. */
export const RATE_LIMIT_BUCKETS = ['ip', 'account', 'login_throttle'] as const;
export type RateLimitBucket = (typeof RATE_LIMIT_BUCKETS)[number];

const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const STATUS_CLASSES = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** The route label of a request Fastify matched to no route. */
export const UNMATCHED_ROUTE = 'unmatched';

export function methodLabel(method: string): string {
  return METHODS.has(method) ? method : 'OTHER';
}

export function statusClass(status: number): string {
  return STATUS_CLASSES[Math.floor(status / 100)] ?? 'other';
}

/** A login's outcome from its audit event; undefined for every other event. */
export function loginOutcomeOf(event: AuditEvent): LoginOutcome | undefined {
  if (event.type === 'login.success') return 'success';
  if (event.type !== 'login.failure') return undefined;
  const reason = event.details?.reason;
  return reason === 'wrong_password' || reason === 'unknown_user' || reason === 'disabled' ? reason : 'other';
}

/** The bucket a refusal came from, or undefined when the error is no rate-limit refusal. */
export function rateLimitBucketOf(error: unknown): RateLimitBucket | undefined {
  if (error instanceof RateLimitedError) return error.check.bucket;
  if (error instanceof LoginThrottledError) return 'login_throttle';
  return undefined;
}

/** How a refresh that failed with `error` ended. */
export function refreshFailureOutcome(error: unknown): RefreshOutcome {
  if (!(error instanceof PortcullisError)) return statusOf(error) < 500 ? 'invalid' : 'error';
  switch (error.code) {
    case 'ERR_REFRESH_TOKEN_REUSED':
      return 'reused';
    case 'ERR_RATE_LIMITED':
      return 'rate_limited';
    case 'ERR_OVERLOADED':
    case 'ERR_STORAGE_UNAVAILABLE':
      return 'error';
    default:
      return 'invalid';
  }
}

/** The grant a POST /token body asks for; the guide's clients leave it out for the password grant. */
export function grantTypeOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const grantType = (body as { grant_type?: unknown }).grant_type;
  if (grantType === undefined || grantType === '') return 'password';
  return typeof grantType === 'string' ? grantType : undefined;
}

/** Fastify's own client errors (a malformed body) carry a 4xx statusCode; anything else is a fault. */
function statusOf(error: unknown): number {
  const status = typeof error === 'object' && error !== null ? (error as { statusCode?: unknown }).statusCode : undefined;
  return typeof status === 'number' ? status : 500;
}
