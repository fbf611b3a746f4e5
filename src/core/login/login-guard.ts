/**
 * The login guard: brute-force and spraying defences around every password attempt (the password grant, the
 * password change), without a lockout anyone could trigger. It keeps the backoff per (account, source), the
 * source being the address or a device token of that account, and the spraying limit per source, and spends
 * the attempt's rate-limit buckets; every refusal carries a proof-of-work challenge (login-challenge.ts). A
 * refused attempt never reaches the hash; unknown usernames get the same bookkeeping (ADR 0008, ADR 0009).
 */
import { createHmac, hkdfSync } from 'node:crypto';
import type { ActionContext } from '../action-context.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import { InvalidRequestError, LoginThrottledError, RateLimitedError } from '../errors.js';
import type { LoginAttemptStore, LoginAttemptView } from '../ports.js';
import { clientAddressKey } from '../rate-limit/client-address.js';
import { RateLimits, type RateCheck } from '../rate-limit/rate-limits.js';
import { DeviceTokens } from './device-token.js';
import { CHALLENGE_LIFETIME_MS, type LoginChallenge, type LoginChallenges } from './login-challenge.js';

export const SPRAY_WINDOW_MS = 3_600_000;
/** An account's failures (from any source) are counted until an hour passes without one. */
export const ACCOUNT_FAILURE_TTL_MS = 3_600_000;
/** A throttle decision is audited at most once per key in this long. */
export const THROTTLE_AUDIT_INTERVAL_MS = 60_000;
const DAY_MS = 86_400_000;

export interface LoginGuardSettings {
  readonly freeFailures: number;
  readonly baseSeconds: number;
  readonly maxSeconds: number;
  readonly sprayAccountsPerHour: number;
}

export type ThrottleReason = 'backoff' | 'spraying';

/** The password attempts the guard stands before: the password grant, and the current password of a change (password, address, second factors). */
export type GuardedAction = 'token' | 'password_change' | 'email_change' | 'factor_change';

/** What admit() found out, for failed() / succeeded() to use. */
export interface LoginTicket {
  readonly usernameKey: string | undefined;
  readonly accountKey: string;
  readonly pairKey: string;
  /** The client's address (IPv6 by /64), as an opaque key. */
  readonly sourceKey: string;
  /** Set when the attempt came with a valid device token for this account. */
  readonly deviceId: string | undefined;
}

export interface LoginAttemptInput {
  /** As typed: used only when it can never name an account (then `usernameKey` is undefined). */
  readonly username: string;
  readonly usernameKey: string | undefined;
  readonly deviceToken: string | undefined;
  /** The account's token version when it exists: device tokens are bound to it (a password change retires them). */
  readonly tokenVersion: number | undefined;
  /** The solution of a challenge this guard handed out earlier (the `challenge_solution` parameter). */
  readonly challengeSolution?: string | undefined;
}

/** An admitted attempt: what failed()/succeeded() need, and the bucket closest to running out (for RateLimit-* headers). */
export interface Admission {
  readonly ticket: LoginTicket;
  readonly rateCheck: RateCheck | undefined;
  /** Let through by a solved challenge rather than by the throttles. */
  readonly challenged: boolean;
}

/** 0 below `2 × unit`, then 1 more for each doubling of `count` (20 of 10 is 1, 40 is 2, 80 is 3, ...). */
export function doublings(count: number, unit: number): number {
  if (unit <= 0 || count < 2 * unit) return 0;
  return Math.floor(Math.log2(count / unit));
}

/** Seconds a pair with `failures` failures waits after its last one (0: no wait). */
export function backoffDelaySeconds(failures: number, settings: LoginGuardSettings): number {
  if (failures <= 0 || failures < settings.freeFailures) return 0;
  const doublings = Math.min(failures - settings.freeFailures, 40);
  return Math.min(settings.maxSeconds, settings.baseSeconds * 2 ** doublings);
}

export interface LoginGuardDependencies {
  readonly store: LoginAttemptStore;
  readonly settings: LoginGuardSettings;
  readonly secretKey: string;
  readonly clock: Clock;
  readonly audit: AuditLog;
  /** The address and account buckets; undefined: none. */
  readonly rateLimits: RateLimits | undefined;
  readonly challenges: LoginChallenges;
  /** The account bucket's burst: the account's failures in an hour before its challenges grow harder. */
  readonly accountBurst: number;
  /** SIGN_IN_LINKS=on: a refused password login says that a sign-in link gets in without work. */
  readonly signInLinks?: boolean;
}

export class LoginGuard {
  private readonly devices: DeviceTokens;
  private readonly keyMac: Buffer;
  /** Long enough for the backoff to reach its cap before the pair is forgotten. */
  private readonly pairTtlMs: number;

  constructor(private readonly deps: LoginGuardDependencies) {
    const { settings } = deps;
    if (settings.baseSeconds <= 0 || settings.maxSeconds < settings.baseSeconds || settings.sprayAccountsPerHour < 1) {
      throw new TypeError('LoginGuard: invalid backoff or spraying settings');
    }
    this.devices = new DeviceTokens(deps.secretKey, deps.clock);
    this.keyMac = Buffer.from(hkdfSync('sha256', Buffer.from(deps.secretKey, 'utf8'), 'portcullis', 'login-throttle/v1', 32));
    this.pairTtlMs = Math.max(DAY_MS, 4 * settings.maxSeconds * 1000);
  }

  /**
   * Before the password is checked: throws LoginThrottledError or RateLimitedError (each with a
   * challenge) when the attempt must wait, InvalidRequestError for a malformed challenge solution.
   * `subject` names the account for the audit log, or null when it does not exist; it is asked only
   * when a decision is recorded.
   */
  async admit(
    action: GuardedAction,
    attempt: LoginAttemptInput,
    context: ActionContext,
    subject: () => Promise<string | null>,
  ): Promise<Admission> {
    const ticket = this.ticket(attempt, context.ip);
    const now = this.deps.clock.now();
    // Only a login can be replaced by a sign-in link; a password change needs the current password.
    const linkHint = action === 'token' && this.deps.signInLinks === true;
    // A solution that is not accepted (expired, used, another account's) is as good as none: the refusal brings a new challenge.
    if (attempt.challengeSolution !== undefined) {
      const check = await this.deps.challenges.check(attempt.challengeSolution, ticket.accountKey);
      if (check.outcome === 'malformed') throw new InvalidRequestError('Malformed challenge_solution');
      if (check.outcome === 'ok' && (await this.deps.store.claimOnce(`challenge:${check.id}`, now, CHALLENGE_LIFETIME_MS))) {
        return { ticket, rateCheck: undefined, challenged: true };
      }
    }
    const request = { action, username: attempt.username };
    let ipCheck: RateCheck | undefined;
    try {
      ipCheck = await this.deps.rateLimits?.checkIp(request, context);
    } catch (error) {
      if (error instanceof RateLimitedError) throw new RateLimitedError(error.check, await this.challenge(ticket, undefined), linkHint);
      throw error;
    }
    const view = await this.deps.store.inspect(ticket.pairKey, ticket.sourceKey, now, SPRAY_WINDOW_MS);
    const refusal = this.refusal(view, ticket, now);
    if (refusal) {
      await this.report(refusal.reason, refusal.retryAfterSeconds, ticket, context.ip, subject);
      throw new LoginThrottledError(refusal.retryAfterSeconds, await this.challenge(ticket, view), linkHint);
    }
    // The account's bucket is spent only by attempts nothing else refused, and never by a device that logged in to it before.
    let accountCheck: RateCheck | undefined;
    if (ticket.deviceId === undefined) {
      try {
        accountCheck = await this.deps.rateLimits?.checkAccount(request, context);
      } catch (error) {
        if (error instanceof RateLimitedError) throw new RateLimitedError(error.check, await this.challenge(ticket, view), linkHint);
        throw error;
      }
    }
    return { ticket, rateCheck: RateLimits.tighter(ipCheck, accountCheck), challenged: false };
  }

  /**
   * The challenge for a refused attempt. Its level is the attack's: the pair's failures past the
   * free ones (as the backoff doubles), the account's failures this hour past the account bucket's
   * burst, the source's sprayed accounts past the limit (both by doublings).
   */
  private async challenge(ticket: LoginTicket, known: LoginAttemptView | undefined): Promise<LoginChallenge> {
    const now = this.deps.clock.now();
    const { settings, store, accountBurst } = this.deps;
    const view = known ?? (await store.inspect(ticket.pairKey, ticket.sourceKey, now, SPRAY_WINDOW_MS));
    const account = (await store.inspect(this.accountFailuresKey(ticket), ticket.sourceKey, now, SPRAY_WINDOW_MS)).failures?.count ?? 0;
    const pairLevel = Math.max(0, (view.failures?.count ?? 0) - settings.freeFailures);
    const accountLevel = doublings(account, accountBurst);
    const sprayLevel = ticket.deviceId === undefined ? doublings(view.sprayAccounts, settings.sprayAccountsPerHour + 1) : 0;
    return this.deps.challenges.issue(ticket.accountKey, Math.max(pairLevel, accountLevel, sprayLevel));
  }

  /** Counts a failure of the pair, of the account from any source (for the challenge's level) and of the source (spraying). */
  async failed(ticket: LoginTicket): Promise<void> {
    const record = {
      sourceKey: ticket.sourceKey,
      accountKey: ticket.accountKey,
      nowMs: this.deps.clock.now(),
      sprayWindowMs: SPRAY_WINDOW_MS,
    };
    await this.deps.store.recordFailure({ ...record, pairKey: ticket.pairKey, pairTtlMs: this.pairTtlMs });
    // The same (source, account) again: the spraying count does not change.
    await this.deps.store.recordFailure({ ...record, pairKey: this.accountFailuresKey(ticket), pairTtlMs: ACCOUNT_FAILURE_TTL_MS });
  }

  /**
   * Clears the pair's failures (the account's stay: they measure the attack, not the owner); the
   * device token to hand the client (the same device id when it had one), bound to `tokenVersion`.
   */
  async succeeded(ticket: LoginTicket, usernameKey: string, tokenVersion: number): Promise<string> {
    await this.clear(ticket);
    return this.devices.issue(usernameKey, tokenVersion, ticket.deviceId);
  }

  /** Forgets the pair's failures: the right password was given. */
  async clear(ticket: LoginTicket): Promise<void> {
    await this.deps.store.clearFailures(ticket.pairKey);
  }

  private accountFailuresKey(ticket: LoginTicket): string {
    return this.opaque('account-failures', ticket.accountKey);
  }

  private ticket(attempt: LoginAttemptInput, ip: string | null): LoginTicket {
    const accountKey = this.opaque('account', attempt.usernameKey ?? `raw:${attempt.username.normalize('NFKC')}`);
    const source = clientAddressKey(ip);
    const sourceKey = this.opaque('source', source);
    const deviceId = this.devices.verify(attempt.deviceToken, attempt.usernameKey, attempt.tokenVersion);
    const pairKey = this.opaque('pair', accountKey, deviceId === undefined ? `ip:${source}` : `device:${deviceId}`);
    return { usernameKey: attempt.usernameKey, accountKey, pairKey, sourceKey, deviceId };
  }

  private refusal(
    view: LoginAttemptView,
    ticket: LoginTicket,
    now: number,
  ): { reason: ThrottleReason; retryAfterSeconds: number } | undefined {
    let best: { reason: ThrottleReason; retryAfterSeconds: number } | undefined;
    const consider = (reason: ThrottleReason, untilMs: number) => {
      if (untilMs <= now) return;
      const retryAfterSeconds = Math.max(1, Math.ceil((untilMs - now) / 1000));
      if (!best || retryAfterSeconds > best.retryAfterSeconds) best = { reason, retryAfterSeconds };
    };
    if (view.failures) {
      const delay = backoffDelaySeconds(view.failures.count, this.deps.settings);
      if (delay > 0) consider('backoff', view.failures.lastAt + delay * 1000);
    }
    // A device that logged in to this account before is not the sprayer, even behind the same address.
    if (ticket.deviceId === undefined && view.sprayAccounts > this.deps.settings.sprayAccountsPerHour && view.sprayOldestAt !== undefined) {
      consider('spraying', view.sprayOldestAt + SPRAY_WINDOW_MS);
    }
    return best;
  }

  private async report(
    reason: ThrottleReason,
    retryAfterSeconds: number,
    ticket: LoginTicket,
    ip: string | null,
    subject: () => Promise<string | null>,
  ): Promise<void> {
    const claim = `throttle:${reason}:${reason === 'backoff' ? ticket.pairKey : ticket.sourceKey}`;
    if (!(await this.deps.store.claimOnce(claim, this.deps.clock.now(), THROTTLE_AUDIT_INTERVAL_MS))) return;
    await this.deps.audit.record({
      type: 'login.throttled',
      outcome: 'failure',
      subject: await subject(),
      ip,
      details: { reason, retry_after: retryAfterSeconds },
    });
  }

  private opaque(...parts: string[]): string {
    return createHmac('sha256', this.keyMac).update(JSON.stringify(parts)).digest().subarray(0, 18).toString('base64url');
  }
}
