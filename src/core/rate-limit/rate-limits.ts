/**
 * Rate limits of the routes that cost a password hash or a database write:
 * a token bucket per client address on each of them, and one per account on
 * the password grant and the password change. An empty bucket is a
 * RateLimitedError; each throttle decision is audited, at most once per bucket
 * a minute, so a flood cannot flood the audit log too.
 */
import { createHash } from 'node:crypto';
import type { ActionContext } from '../action-context.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { AbuseSettings, TokenBucketSettings } from '../config.js';
import { RateLimitedError } from '../errors.js';
import type { RateDecision, RateLimiter, UserStore } from '../ports.js';
import type { User } from '../users/user.js';
import { loginKey, usernameKey } from '../users/user-fields.js';
import { clientAddressKey } from './client-address.js';

/**
 * The limited actions: POST /token, POST /users, POST /revoke, POST /introspect, PUT /users/me/password,
 * the failed client authentications of GET /revocations, POST /password/forgot, POST /email/verify/resend,
 * PUT /users/me/email, POST /signin/link, and the second-factor changes that need the current password
 * (`factor_change`: POST /users/me/factors/totp, POST /users/me/recovery-codes).
 */
export type RateLimitedAction =
  | 'token'
  | 'sign_up'
  | 'revoke'
  | 'introspect'
  | 'password_change'
  | 'revocations'
  | 'password_forgot'
  | 'email_verify_resend'
  | 'email_change'
  | 'factor_change'
  | 'sign_in_link';

/** The requests that ask for a mail to an account, answered alike whether or not one is sent; each has its own per-account bucket of mails. */
export type MailRequestAction = 'password_forgot' | 'email_verify_resend' | 'sign_in_link';

/** The key prefix of each action's per-account bucket of mails. */
const MAIL_BUCKET_PREFIX: Readonly<Record<MailRequestAction, string>> = {
  password_forgot: 'reset-mail',
  email_verify_resend: 'verify-mail',
  sign_in_link: 'sign-in-mail',
};
export type RateLimitBucket = 'ip' | 'account';

/** Only these count against the account's bucket too. */
const ACCOUNT_LIMITED: ReadonlySet<RateLimitedAction> = new Set(['token', 'password_change', 'email_change', 'factor_change']);
/** One audit event per bucket per minute. */
const AUDIT_DEDUP_BUCKET: TokenBucketSettings = Object.freeze({ perMinute: 1, burst: 1 });
const MAX_ACCOUNT_KEY_LENGTH = 128;

/** A decision with the bucket it came from. */
export interface RateCheck {
  readonly bucket: RateLimitBucket;
  readonly settings: TokenBucketSettings;
  readonly decision: RateDecision;
}

export interface RateLimitRequest {
  readonly action: RateLimitedAction;
  /** The account asked about, as given: the password grant's username, the signed-in user's for a password change. */
  readonly username?: string | undefined;
}

export interface RateLimitsDependencies {
  /** undefined: no rate limits (a library user who passes no limiter gets none). */
  readonly limiter: RateLimiter | undefined;
  readonly settings: AbuseSettings;
  readonly audit: AuditLog;
  readonly users: UserStore;
}

export class RateLimits {
  constructor(private readonly deps: RateLimitsDependencies) {}

  get enabled(): boolean {
    return this.deps.settings.rateLimitsEnabled && this.deps.limiter !== undefined;
  }

  /**
   * Takes a token from each bucket the request counts against, the client
   * address's first. Throws RateLimitedError when one is empty; otherwise
   * returns the check closest to running out (for RateLimit-* headers), or
   * undefined when rate limits are off.
   */
  async check(request: RateLimitRequest, context: ActionContext): Promise<RateCheck | undefined> {
    const ip = await this.checkIp(request, context);
    if (ip === undefined || !ACCOUNT_LIMITED.has(request.action)) return ip;
    const account = await this.checkAccount(request, context);
    return RateLimits.tighter(ip, account);
  }

  /** Takes a token from the client address's bucket; RateLimitedError when it is empty, undefined when limits are off. */
  async checkIp(request: RateLimitRequest, context: ActionContext): Promise<RateCheck | undefined> {
    const limiter = this.deps.limiter;
    if (!this.deps.settings.rateLimitsEnabled || limiter === undefined) return undefined;
    const { ipLimit } = this.deps.settings;
    const ipKey = `ip:${clientAddressKey(context.ip)}`;
    const ip: RateCheck = { bucket: 'ip', settings: ipLimit, decision: await limiter.consume(ipKey, ipLimit) };
    if (!ip.decision.allowed) return this.refuse(ip, ipKey, request, context);
    return ip;
  }

  /** Takes a token from the account's bucket; RateLimitedError when it is empty, undefined when limits are off or no account is named. */
  async checkAccount(request: RateLimitRequest, context: ActionContext): Promise<RateCheck | undefined> {
    const limiter = this.deps.limiter;
    if (!this.deps.settings.rateLimitsEnabled || limiter === undefined) return undefined;
    if (request.username === undefined || request.username === '') return undefined;
    const { accountLimit } = this.deps.settings;
    const accountKey = `account:${boundedKey(usernameKey(request.username))}`;
    const account: RateCheck = { bucket: 'account', settings: accountLimit, decision: await limiter.consume(accountKey, accountLimit) };
    if (!account.decision.allowed) return this.refuse(account, accountKey, request, context);
    return account;
  }

  /**
   * Takes a token from the account's bucket of second-factor attempts (the mfa grant): a bucket of
   * its own, never the password's, so guessing codes cannot lock the owner out of the password step
   * (ADR 0024, docs/SECURITY.md). RateLimitedError when it is empty; undefined when limits are off.
   */
  async checkSecondFactor(user: User, settings: TokenBucketSettings, context: ActionContext): Promise<RateCheck | undefined> {
    const limiter = this.deps.limiter;
    if (!this.deps.settings.rateLimitsEnabled || limiter === undefined) return undefined;
    const key = `second-factor:${boundedKey(user.usernameKey)}`;
    const check: RateCheck = { bucket: 'account', settings, decision: await limiter.consume(key, settings) };
    if (!check.decision.allowed) return this.refuse(check, key, { action: 'token', username: user.username }, context);
    return check;
  }

  /**
   * Takes a token from the account's bucket of the mails `action` sends (each action its own, apart
   * from the login's: asking for mails must not lock the owner out of logging in, nor one kind of
   * mail use up another's). false when it is empty: the caller sends nothing and answers as if it
   * had, so existence never shows. true when limits are off.
   */
  async allowAccountMail(action: MailRequestAction, user: User, settings: TokenBucketSettings, context: ActionContext): Promise<boolean> {
    const limiter = this.deps.limiter;
    if (!this.deps.settings.rateLimitsEnabled || limiter === undefined) return true;
    const key = `${MAIL_BUCKET_PREFIX[action]}:${boundedKey(user.usernameKey)}`;
    const decision = await limiter.consume(key, settings);
    if (decision.allowed) return true;
    if ((await limiter.consume(`audit:${key}`, AUDIT_DEDUP_BUCKET)).allowed) {
      await this.deps.audit.record({
        type: 'rate_limit.exceeded',
        outcome: 'failure',
        actor: context.actor,
        subject: user.username,
        ip: context.ip,
        details: { bucket: 'account', route: action },
      });
    }
    return false;
  }

  /** The check closer to running out, for the RateLimit-* headers. */
  static tighter(a: RateCheck | undefined, b: RateCheck | undefined): RateCheck | undefined {
    if (a === undefined || b === undefined) return a ?? b;
    return share(b) < share(a) ? b : a;
  }

  private async refuse(check: RateCheck, key: string, request: RateLimitRequest, context: ActionContext): Promise<never> {
    if ((await this.deps.limiter!.consume(`audit:${key}`, AUDIT_DEDUP_BUCKET)).allowed) {
      // The name is recorded only when it names an account, as for failed logins.
      const known = request.username === undefined ? undefined : loginKey(request.username);
      const user = known === undefined ? undefined : await this.deps.users.findByKey(known);
      await this.deps.audit.record({
        type: 'rate_limit.exceeded',
        outcome: 'failure',
        actor: context.actor,
        subject: user?.username ?? null,
        ip: context.ip,
        details: { bucket: check.bucket, route: request.action },
      });
    }
    throw new RateLimitedError(check);
  }
}

/** How much of the bucket is left, 0..1. */
function share(check: RateCheck): number {
  return check.decision.remaining / check.decision.limit;
}

/** A username longer than any account's is still one bucket, of bounded size. */
function boundedKey(key: string): string {
  if (key.length <= MAX_ACCOUNT_KEY_LENGTH) return key;
  return `sha256:${createHash('sha256').update(key).digest('base64url')}`;
}
