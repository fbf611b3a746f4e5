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
import type { PasswordResetStore, UserStore } from '../ports.js';
import type { RateCheck, RateLimits } from '../rate-limit/rate-limits.js';
import { hashSecret, randomToken } from '../secrets.js';
import type { User } from '../users/user.js';
import { loginKey } from '../users/user-fields.js';
import type { UserService } from '../users/user-service.js';

/** 256 bits. */
const TOKEN_BYTES = 32;
/**
 * Requests whose work is still in hand, at most: past it (a flood the address limits did not stop,
 * or RATE_LIMITS=off) a request is answered alike and its work dropped, so memory stays bounded.
 */
const MAX_PENDING = 1000;
/** A token longer than this is not one of ours (43 characters): refused without a look-up. */
const MAX_TOKEN_LENGTH = 128;

/** Exactly one of the two. An e-mail finds the account only if exactly one account has it (case-insensitively). */
export interface PasswordResetRequest {
  readonly email?: string | undefined;
  readonly username?: string | undefined;
}

export interface PasswordResetDependencies {
  readonly users: UserStore;
  readonly userService: UserService;
  readonly store: PasswordResetStore;
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
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly deps: PasswordResetDependencies) {}

  /**
   * Checks the request's shape, that mail can be sent (MailUnavailableError), and the client
   * address's bucket (RateLimitedError), then returns: the rest is done in the background.
   * Returns the address's check for the RateLimit-* headers.
   */
  async request(who: PasswordResetRequest, context: ActionContext): Promise<RateCheck | undefined> {
    if ((who.email === undefined) === (who.username === undefined)) {
      throw new InvalidRequestError('Give exactly one of email and username');
    }
    if (!this.deps.mailer?.available) throw new MailUnavailableError();
    const check = await this.deps.rateLimits.checkIp({ action: 'password_forgot' }, context);
    if (this.pending.size >= MAX_PENDING) {
      this.deps.onError(new Error(`more than ${MAX_PENDING} password reset requests in hand: this one is dropped`));
      return check;
    }
    // Started on a later turn of the event loop, once the answer is written: a synchronous driver
    // (SQLite) would otherwise run the look-up before the answer leaves.
    const work: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.issue(who, context))
      .catch((error: unknown) => this.deps.onError(error))
      .finally(() => this.pending.delete(work));
    this.pending.add(work);
    return check;
  }

  /** Resolves once the work of every request answered so far is done (tests; a clean close). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Sets the password with a token from the mail; InvalidResetTokenError for any token that cannot be used. */
  async reset(token: string, newPassword: string, context: ActionContext): Promise<void> {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw new InvalidResetTokenError();
    const tokenHash = hashSecret(token);
    const record = await this.deps.store.find(tokenHash);
    const now = this.deps.clock.now();
    if (!record || record.usedAt !== null || record.expiresAt <= now) throw new InvalidResetTokenError();
    const user = await this.deps.users.findById(record.userId);
    if (!user || user.disabled) throw new InvalidResetTokenError();
    await this.deps.userService.resetPassword(user, newPassword, () => this.deps.store.consume(tokenHash, this.deps.clock.now()), context);
  }

  private async issue(who: PasswordResetRequest, context: ActionContext): Promise<void> {
    const user = await this.findAccount(who);
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
      { id: randomUUID(), userId: user.id, tokenHash: hashSecret(token), createdAt, expiresAt, usedAt: null },
      mail,
    );
    mailer.queued();
  }

  private async findAccount(who: PasswordResetRequest): Promise<User | undefined> {
    if (who.username !== undefined) {
      // As a login reads it: a name that could never be an account's is no account.
      const key = loginKey(who.username);
      return key === undefined ? undefined : this.deps.users.findByKey(key);
    }
    const email = (who.email ?? '').trim();
    if (email === '') return undefined;
    const found = await this.deps.users.findByEmail(email, 2);
    // E-mail addresses are not verified yet: an address two accounts share names neither.
    return found.length === 1 ? found[0] : undefined;
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
