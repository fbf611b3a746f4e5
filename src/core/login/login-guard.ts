/**
 * Brute-force and spraying defences around the password grant, without a
 * lockout anyone could trigger:
 *
 * - Backoff per (account, source): after `freeFailures` failures, the pair
 *   waits `base * 2^(n - free)` seconds (capped) after its last failure. The
 *   source is the client's address, or the device when the client presents a
 *   device token of that account, so an attacker elsewhere never slows the
 *   owner's device down.
 * - Spraying per source: a source that failed on more than
 *   `sprayAccountsPerHour` distinct accounts within the last hour (a sliding
 *   window) is refused until enough of those failures are an hour old.
 *
 * A refused attempt never reaches the password hash. Unknown usernames get
 * the same bookkeeping as real ones, so neither the answer nor its timing says
 * whether an account exists. Keys are HMACs under a key derived from
 * SECRET_KEY: the store never sees a username, nor a password typed into the
 * username field.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import { LoginThrottledError } from '../errors.js';
import type { LoginAttemptStore, LoginAttemptView } from '../ports.js';
import { clientAddressKey } from '../rate-limit/client-address.js';
import { DeviceTokens } from './device-token.js';

export const SPRAY_WINDOW_MS = 3_600_000;
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
  readonly ip: string | null;
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
}

export class LoginGuard {
  readonly devices: DeviceTokens;
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
   * Before the password is checked: LoginThrottledError when the attempt must
   * wait. `subject` names the account for the audit log, or null when it does
   * not exist; it is asked only when a decision is recorded.
   */
  async admit(attempt: LoginAttemptInput, subject: () => Promise<string | null>): Promise<LoginTicket> {
    const ticket = this.ticket(attempt);
    const now = this.deps.clock.now();
    const view = await this.deps.store.inspect(ticket.pairKey, ticket.sourceKey, now, SPRAY_WINDOW_MS);
    const refusal = this.refusal(view, ticket, now);
    if (refusal) {
      await this.report(refusal.reason, refusal.retryAfterSeconds, ticket, attempt.ip, subject);
      throw new LoginThrottledError(refusal.retryAfterSeconds);
    }
    return ticket;
  }

  async failed(ticket: LoginTicket): Promise<void> {
    await this.deps.store.recordFailure({
      pairKey: ticket.pairKey,
      sourceKey: ticket.sourceKey,
      accountKey: ticket.accountKey,
      nowMs: this.deps.clock.now(),
      pairTtlMs: this.pairTtlMs,
      sprayWindowMs: SPRAY_WINDOW_MS,
    });
  }

  /** Clears the pair's failures; the device token to hand the client (the same device id when it had one). */
  async succeeded(ticket: LoginTicket, usernameKey: string): Promise<string> {
    await this.deps.store.clearFailures(ticket.pairKey);
    return this.devices.issue(usernameKey, ticket.deviceId);
  }

  private ticket(attempt: LoginAttemptInput): LoginTicket {
    const accountKey = this.opaque('account', attempt.usernameKey ?? `raw:${attempt.username.normalize('NFKC')}`);
    const source = clientAddressKey(attempt.ip);
    const sourceKey = this.opaque('source', source);
    const deviceId = this.devices.verify(attempt.deviceToken, attempt.usernameKey);
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
