/**
 * Sign-in links (magic links, issue 14), opt-in with SIGN_IN_LINKS=on. `request` answers at once,
 * the same for every request that passes the client address's rate limit, as a password reset
 * request does: the account look-up, the per-account limit, the token and its mail are done after
 * the answer (DeferredWork), so neither the answer nor its timing says whether the account exists.
 * The mail goes to the account's address, verified or not: whoever reads that mailbox can reset the
 * password already, so a link gives them nothing new (docs/SECURITY.md). The token is 32 random
 * bytes (base64url), stored as its SHA-256 with its mail in one transaction (ADR 0022), purpose
 * `sign_in`, single use, valid SIGN_IN_LINK_TTL_MINUTES; a password change voids it.
 *
 * `redeem` uses the token (and voids the user's other links) and returns the user for the grant
 * to open a session (TokenService.provenLogin). It proves the mailbox, not a guess, so it passes
 * no login throttle and no challenge: it is the owner's way in past a throttle that costs no work
 * (ADR 0008, ADR 0009). It marks the address verified, if the link went to the account's address
 * as it is now. It leaves the password backoff alone (see SECURITY.md).
 */
import { randomUUID } from 'node:crypto';
import type { ActionContext } from '../action-context.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Invalidation } from '../auth-cache.js';
import type { Clock } from '../clock.js';
import type { SignInLinkSettings } from '../config.js';
import { DeferredWork } from '../deferred-work.js';
import { EmailTakenError, InactiveUserError, InvalidSignInLinkError, MailUnavailableError, NotFoundError } from '../errors.js';
import type { Mailer } from '../outbox/mailer.js';
import type { MailTokenRecord, MailTokenStore, UserStore } from '../ports.js';
import type { RateCheck, RateLimits } from '../rate-limit/rate-limits.js';
import { hashSecret, randomToken } from '../secrets.js';
import { checkAccountReference, findAccount, type AccountReference } from '../users/find-account.js';
import type { User } from '../users/user.js';
import { emailKey } from '../users/user-fields.js';

/** 256 bits. */
const TOKEN_BYTES = 32;
/** A token longer than this is not one of ours (43 characters): refused without a look-up. */
const MAX_TOKEN_LENGTH = 128;

export const SIGN_IN_LINKS_OFF = 'Sign-in links are not enabled on this server (SIGN_IN_LINKS=off)';

export interface SignInLinkDependencies {
  readonly users: UserStore;
  readonly store: MailTokenStore;
  /** undefined (the library without a mail channel) or unavailable: requests are refused with MailUnavailableError. */
  readonly mailer: Mailer | undefined;
  readonly rateLimits: RateLimits;
  readonly audit: AuditLog;
  readonly invalidation: Invalidation;
  readonly clock: Clock;
  readonly settings: SignInLinkSettings;
  /** A request's work failed after it was answered (the database down, say): for the log. Never given a token. */
  readonly onError: (error: unknown) => void;
}

export class SignInLinks {
  private readonly work: DeferredWork;

  constructor(private readonly deps: SignInLinkDependencies) {
    this.work = new DeferredWork('sign-in link', deps.onError);
  }

  get enabled(): boolean {
    return this.deps.settings.enabled;
  }

  /**
   * NotFoundError when SIGN_IN_LINKS=off; then checks the request's shape, that mail can be sent
   * (MailUnavailableError), and the client address's bucket (RateLimitedError), and returns: the
   * rest is done in the background. Returns the address's check for the RateLimit-* headers.
   */
  async request(who: AccountReference, context: ActionContext): Promise<RateCheck | undefined> {
    if (!this.enabled) throw new NotFoundError(SIGN_IN_LINKS_OFF);
    checkAccountReference(who);
    if (!this.deps.mailer?.available) throw new MailUnavailableError();
    const check = await this.deps.rateLimits.checkIp({ action: 'sign_in_link' }, context);
    this.work.defer(() => this.issue(who, context));
    return check;
  }

  /** Resolves once the work of every request answered so far is done (tests; a clean close). */
  settled(): Promise<void> {
    return this.work.settled();
  }

  /**
   * Uses the link's token: the enabled user it signs in (InvalidSignInLinkError for a token that is
   * unknown, used, expired or of another purpose; InactiveUserError for a disabled user). The caller
   * checks that links are enabled (the grant is unsupported otherwise).
   */
  async redeem(token: string, context: ActionContext): Promise<User> {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw new InvalidSignInLinkError();
    // One statement decides which of two concurrent redeems gets the token.
    const record = await this.deps.store.consume(hashSecret(token), 'sign_in', this.deps.clock.now());
    if (!record) throw new InvalidSignInLinkError();
    const user = await this.deps.users.findById(record.userId);
    if (!user) throw new InvalidSignInLinkError();
    if (user.disabled) {
      await this.deps.audit.record({
        type: 'login.failure',
        outcome: 'failure',
        subject: user.username,
        ip: context.ip,
        details: { reason: 'disabled', method: 'sign_in_link' },
      });
      throw new InactiveUserError();
    }
    return this.verifyAddress(user, record, context);
  }

  /** The link proved the mailbox it went to: that address is verified, if it is still the account's. */
  private async verifyAddress(user: User, record: MailTokenRecord, context: ActionContext): Promise<User> {
    if (user.emailVerified || user.email === null || emailKey(user.email) !== emailKey(record.email)) return user;
    let verified: User | undefined;
    try {
      verified = await this.deps.users.update(user.usernameKey, { emailVerified: true, onlyIfEmail: record.email }, this.deps.clock.now());
    } catch (error) {
      // Another account verified this address meanwhile: the sign-in stands, the address stays unverified.
      if (error instanceof EmailTakenError) return user;
      throw error;
    }
    if (!verified?.emailVerified) return verified ?? user;
    this.deps.invalidation.userChanged(user.id);
    await this.deps.audit.record({
      type: 'user.updated',
      outcome: 'success',
      actor: user.username,
      subject: user.username,
      ip: context.ip,
      details: { fields: 'email_verified', by: 'sign_in_link' },
    });
    return verified;
  }

  private async issue(who: AccountReference, context: ActionContext): Promise<void> {
    const user = await findAccount(this.deps.users, who);
    const refusal = !user ? 'no_such_account' : user.disabled ? 'disabled' : user.email === null ? 'no_email' : undefined;
    if (refusal !== undefined || !user || user.email === null) {
      await this.recordRequest(user, context, 'failure', refusal ?? 'no_email');
      return;
    }
    const { mailsPerHour } = this.deps.settings;
    const allowed = await this.deps.rateLimits.allowAccountMail(
      'sign_in_link',
      user,
      { perMinute: mailsPerHour / 60, burst: mailsPerHour },
      context,
    );
    if (!allowed) return; // audited by the rate limits (at most once a minute per account)
    await this.mailToken(user, user.email);
    await this.recordRequest(user, context, 'success');
  }

  private async mailToken(user: User, email: string): Promise<void> {
    const mailer = this.deps.mailer;
    if (!mailer) throw new MailUnavailableError();
    const { ttlMinutes } = this.deps.settings;
    const token = randomToken(TOKEN_BYTES);
    const createdAt = this.deps.clock.now();
    const expiresAt = createdAt + ttlMinutes * 60_000;
    const mail = mailer.compose('sign_in_link', email, {
      username: user.username,
      token,
      expires_minutes: String(ttlMinutes),
      expires_at: `${new Date(expiresAt).toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    });
    await this.deps.store.issue(
      { id: randomUUID(), userId: user.id, purpose: 'sign_in', email, tokenHash: hashSecret(token), createdAt, expiresAt, usedAt: null },
      mail,
    );
    mailer.queued();
  }

  private recordRequest(user: User | undefined, context: ActionContext, outcome: 'success' | 'failure', reason?: string): Promise<void> {
    return this.deps.audit.record({
      type: 'sign_in_link.requested',
      outcome,
      actor: context.actor,
      subject: user?.username ?? null,
      ip: context.ip,
      ...(reason === undefined ? {} : { details: { reason } }),
    });
  }
}
