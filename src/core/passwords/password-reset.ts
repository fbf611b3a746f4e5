/**
 * Password reset (issue 14). `request` answers at once, the same for every request that passes
 * the client address's rate limit: the account look-up, the per-account limit, the token and its
 * mail are done afterwards, off the response's path, so neither the answer nor its timing says
 * whether the account exists. The token is 32 random bytes (base64url), stored as its SHA-256
 * with its mail in one transaction (ADR 0022), single use, and valid PASSWORD_RESET_TTL_MINUTES.
 * `reset` applies the password policy, uses the token (and voids the user's others), sets the
 * password, ends every session and bumps the token version (UserService.resetPassword).
 */
import { randomUUID } from 'node:crypto';
import type { ActionContext } from '../action-context.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import { InvalidRequestError, InvalidResetTokenError, MailUnavailableError } from '../errors.js';
import type { Mailer } from '../outbox/mailer.js';
import type { MailTokenStore, UserStore } from '../ports.js';
import type { RateCheck, RateLimits } from '../rate-limit/rate-limits.js';
import { hashSecret, randomToken } from '../secrets.js';
import type { User } from '../users/user.js';
import { checkAccountReference, findAccount, type AccountReference } from '../users/find-account.js';
import { DeferredWork } from '../deferred-work.js';
import type { UserService } from '../users/user-service.js';

/** 256 bits. */
const TOKEN_BYTES = 32;
/** A token longer than this is not one of ours (43 characters): refused without a look-up. */
const MAX_TOKEN_LENGTH = 128;

/** Exactly one of the two; an e-mail finds an account as findAccount says. */
export type PasswordResetRequest = AccountReference;

export interface PasswordResetDependencies {
  readonly users: UserStore;
  readonly userService: UserService;
  readonly store: MailTokenStore;
  /** undefined (the library without a mail channel) or unavailable: requests are refused with MailUnavailableError. */
  readonly mailer: Mailer | undefined;
  readonly rateLimits: RateLimits;
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly ttlMinutes: number;
  readonly mailsPerHour: number;
  /** A request's work failed after it was answered (the database down, say): for the log. Never given a token. */
  readonly onError: (error: unknown) => void;
}

export class PasswordResets {
  private readonly work: DeferredWork;

  constructor(private readonly deps: PasswordResetDependencies) {
    this.work = new DeferredWork('password reset', deps.onError);
  }

  /**
   * Checks the request's shape, that mail can be sent (MailUnavailableError), and the client
   * address's bucket (RateLimitedError), then returns: the rest is done in the background.
   * Returns the address's check for the RateLimit-* headers.
   */
  async request(who: PasswordResetRequest, context: ActionContext): Promise<RateCheck | undefined> {
    checkAccountReference(who);
    if (!this.deps.mailer?.available) throw new MailUnavailableError();
    const check = await this.deps.rateLimits.checkIp({ action: 'password_forgot' }, context);
    this.work.defer(() => this.issue(who, context));
    return check;
  }

  /** Resolves once the work of every request answered so far is done (tests; a clean close). */
  settled(): Promise<void> {
    return this.work.settled();
  }

  /** Sets the password with a token from the mail; InvalidResetTokenError for any token that cannot be used. */
  async reset(token: string, newPassword: string, context: ActionContext): Promise<void> {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw new InvalidResetTokenError();
    const tokenHash = hashSecret(token);
    const record = await this.deps.store.find(tokenHash);
    const now = this.deps.clock.now();
    if (!record || record.purpose !== 'password_reset' || record.usedAt !== null || record.expiresAt <= now) {
      throw new InvalidResetTokenError();
    }
    const user = await this.deps.users.findById(record.userId);
    if (!user || user.disabled) throw new InvalidResetTokenError();
    await this.deps.userService.resetPassword(
      user,
      newPassword,
      async () => (await this.deps.store.consume(tokenHash, 'password_reset', this.deps.clock.now())) !== undefined,
      context,
    );
  }

  private async issue(who: PasswordResetRequest, context: ActionContext): Promise<void> {
    const user = await findAccount(this.deps.users, who);
    const refusal = !user ? 'no_such_account' : user.disabled ? 'disabled' : user.email === null ? 'no_email' : undefined;
    if (refusal !== undefined || !user || user.email === null) {
      await this.recordRequest(user, context, 'failure', refusal ?? 'no_email');
      return;
    }
    const allowed = await this.deps.rateLimits.allowResetMail(
      user,
      { perMinute: this.deps.mailsPerHour / 60, burst: this.deps.mailsPerHour },
      context,
    );
    if (!allowed) return; // audited by the rate limits (at most once a minute per account)
    await this.mailToken(user, user.email);
    await this.recordRequest(user, context, 'success');
  }

  /**
   * An operator's reset (`portcullis users reset-password`): a token and its mail for this user, at
   * once and without the limits. Returns the address it goes to.
   */
  async sendTo(user: User, context: ActionContext): Promise<string> {
    if (!this.deps.mailer?.available) throw new MailUnavailableError();
    if (user.disabled) throw new InvalidRequestError(`${user.username} is disabled`);
    if (user.email === null) throw new InvalidRequestError(`${user.username} has no e-mail address`);
    await this.mailToken(user, user.email);
    await this.recordRequest(user, context, 'success');
    return user.email;
  }

  private async mailToken(user: User, email: string): Promise<void> {
    const mailer = this.deps.mailer;
    if (!mailer) throw new MailUnavailableError();
    const token = randomToken(TOKEN_BYTES);
    const createdAt = this.deps.clock.now();
    const expiresAt = createdAt + this.deps.ttlMinutes * 60_000;
    const mail = mailer.compose('password_reset', email, {
      username: user.username,
      token,
      expires_minutes: String(this.deps.ttlMinutes),
      expires_at: `${new Date(expiresAt).toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    });
    await this.deps.store.issue(
      {
        id: randomUUID(),
        userId: user.id,
        purpose: 'password_reset',
        email,
        tokenHash: hashSecret(token),
        createdAt,
        expiresAt,
        usedAt: null,
      },
      mail,
    );
    mailer.queued();
  }

  private recordRequest(user: User | undefined, context: ActionContext, outcome: 'success' | 'failure', reason?: string): Promise<void> {
    return this.deps.audit.record({
      type: 'password.reset_requested',
      outcome,
      actor: context.actor,
      subject: user?.username ?? null,
      ip: context.ip,
      ...(reason === undefined ? {} : { details: { reason } }),
    });
  }
}
