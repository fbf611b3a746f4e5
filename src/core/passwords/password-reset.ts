/**
 * Password reset (issue 14). `request` answers at once, the same for every request that passes
 * the client address's rate limit: the account look-up, the per-account limit, the token and its
 * mail are done afterwards, off the response's path, so neither the answer nor its timing says
 * whether the account exists (AccountMailRequests). The token (MailedTokens: 256 bits, stored as
 * its SHA-256 with its mail in one transaction, ADR 0022) is single use and valid PASSWORD_RESET_TTL_MINUTES.
 * `reset` applies the password policy, uses the token (and voids the user's others), sets the
 * password, ends every session and bumps the token version (UserService.resetPassword).
 */
import type { ActionContext } from '../action-context.js';
import { InvalidRequestError, InvalidResetTokenError, MailUnavailableError } from '../errors.js';
import { isMailedTokenShape, MailedTokens } from '../outbox/mailed-token.js';
import type { RateCheck } from '../rate-limit/rate-limits.js';
import { hashSecret } from '../secrets.js';
import { AccountMailRequests, accountMailRefusal, type MailingDependencies } from '../users/account-mail-request.js';
import type { AccountReference } from '../users/find-account.js';
import type { User } from '../users/user.js';
import type { UserService } from '../users/user-service.js';

/** Exactly one of the two; an e-mail finds an account as findAccount says. */
export type PasswordResetRequest = AccountReference;

export interface PasswordResetDependencies extends MailingDependencies {
  readonly userService: UserService;
  readonly ttlMinutes: number;
  readonly mailsPerHour: number;
}

export class PasswordResets {
  private readonly requests: AccountMailRequests;
  private readonly tokens: MailedTokens;

  constructor(private readonly deps: PasswordResetDependencies) {
    this.requests = new AccountMailRequests({
      ...deps,
      action: 'password_forgot',
      name: 'password reset',
      auditType: 'password.reset_requested',
    });
    this.tokens = new MailedTokens(deps);
  }

  /**
   * Checks the request's shape, that mail can be sent (MailUnavailableError), and the client
   * address's bucket (RateLimitedError), then returns: the rest is done in the background.
   * Returns the address's check for the RateLimit-* headers.
   */
  request(who: PasswordResetRequest, context: ActionContext): Promise<RateCheck | undefined> {
    return this.requests.accept(who, context, (user) => this.issue(user, context));
  }

  /** Resolves once the work of every request answered so far is done (tests; a clean close). */
  settled(): Promise<void> {
    return this.requests.settled();
  }

  /** Sets the password with a token from the mail; InvalidResetTokenError for any token that cannot be used. */
  async reset(token: string, newPassword: string, context: ActionContext): Promise<void> {
    if (!isMailedTokenShape(token)) throw new InvalidResetTokenError();
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

  private async issue(user: User | undefined, context: ActionContext): Promise<void> {
    const refusal = accountMailRefusal(user);
    if (refusal !== undefined || !user || user.email === null) {
      await this.requests.record(user, context, 'failure', refusal ?? 'no_email');
      return;
    }
    if (!(await this.requests.allowMail(user, this.deps.mailsPerHour, context))) return;
    await this.mailToken(user, user.email);
    await this.requests.record(user, context, 'success');
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
    await this.requests.record(user, context, 'success');
    return user.email;
  }

  private mailToken(user: User, email: string): Promise<void> {
    const { ttlMinutes } = this.deps;
    return this.tokens.issue({
      user,
      email,
      purpose: 'password_reset',
      ttlMs: ttlMinutes * 60_000,
      kind: 'password_reset',
      values: (token, expiresAt) => ({ username: user.username, token, expires_minutes: String(ttlMinutes), expires_at: expiresAt }),
    });
  }
}
