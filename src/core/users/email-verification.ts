/**
 * E-mail verification (issue 14). A verification mail carries a single-use token (MailedTokens: 256
 * bits, stored as its SHA-256 with the mail in one transaction, ADR 0022) for one address:
 * sent on sign-up with an address, on a change of address (PUT /users/me/email: the old address
 * stays the account's, and is told, until the new one is verified), and on a resend. A new token
 * voids the user's earlier unused ones, in its own transaction. `verify` uses the token and sets the user's address to the
 * token's, verified, in one transaction (MailTokenStore.verifyEmail), with the old address's notice
 * of a change in it too. `resend` answers alike whether or not the account exists or needs a mail:
 * the look-up and the mail are done after the answer (AccountMailRequests), as PasswordResets does.
 */
import type { ActionContext } from '../action-context.js';
import type { Invalidation } from '../auth-cache.js';
import { InvalidVerificationTokenError, MailUnavailableError, ValidationError } from '../errors.js';
import { isMailedTokenShape, MailedTokens } from '../outbox/mailed-token.js';
import type { EmailChange } from '../ports.js';
import type { RateCheck } from '../rate-limit/rate-limits.js';
import { hashSecret } from '../secrets.js';
import { AccountMailRequests, accountMailRefusal, type MailingDependencies } from './account-mail-request.js';
import type { AccountReference } from './find-account.js';
import type { User } from './user.js';
import { emailKey, normalizeEmail } from './user-fields.js';

/** Why a verification mail was sent (the audit event's `reason`). */
export type VerificationReason = 'sign_up' | 'email_change' | 'resend';

export interface EmailVerificationDependencies extends MailingDependencies {
  readonly invalidation: Invalidation;
  readonly ttlHours: number;
  readonly mailsPerHour: number;
}

export class EmailVerifications {
  private readonly requests: AccountMailRequests;
  private readonly tokens: MailedTokens;

  constructor(private readonly deps: EmailVerificationDependencies) {
    this.requests = new AccountMailRequests({
      ...deps,
      action: 'email_verify_resend',
      name: 'e-mail verification',
      auditType: 'email.verification_requested',
    });
    this.tokens = new MailedTokens(deps);
  }

  /**
   * After a sign-up: a verification mail to the new user's address, if it has one to verify and mail
   * can be sent. Never fails the sign-up: a mail that cannot be queued is said to onError (the user
   * can ask for another with resend).
   */
  async afterSignUp(user: User, context: ActionContext): Promise<void> {
    if (user.email === null || user.emailVerified || !this.deps.mailer?.available) return;
    try {
      await this.send(user, user.email, 'sign_up', context);
    } catch (error) {
      this.deps.onError(error);
    }
  }

  /**
   * POST /email/verify/resend: checks the request's shape, that mail can be sent (MailUnavailableError)
   * and the client address's bucket (RateLimitedError), then returns; the rest is done after the
   * answer. A mail goes to the account's address only when it is not verified yet, within the
   * account's EMAIL_VERIFICATION_MAILS_PER_HOUR. Returns the address's check for the RateLimit-* headers.
   */
  resend(who: AccountReference, context: ActionContext): Promise<RateCheck | undefined> {
    return this.requests.accept(who, context, (user) => this.resendNow(user, context));
  }

  /** Resolves once the work of every request answered so far is done (tests; a clean close). */
  settled(): Promise<void> {
    return this.requests.settled();
  }

  /**
   * A change of address asked for by its user (whose current password the caller checked): the
   * verification mail to `newEmail`, and a notice to the current address. The current address stays
   * until the new one is verified. ValidationError for an invalid address, or the account's own verified one.
   */
  async requestChange(user: User, newEmail: string, context: ActionContext): Promise<void> {
    const email = normalizeEmail(newEmail);
    if (email === null) throw new ValidationError('email', 'An e-mail address is required');
    if (user.emailVerified && user.email !== null && emailKey(user.email) === emailKey(email)) {
      throw new ValidationError('email', 'That address is already the verified address of this account');
    }
    const mailer = this.deps.mailer;
    if (!mailer?.available) throw new MailUnavailableError();
    await this.send(user, email, 'email_change', context);
    if (user.email !== null && emailKey(user.email) !== emailKey(email)) {
      await mailer.send('email_change_requested', user.email, { username: user.username, new_email: email });
    }
    await this.deps.audit.record({
      type: 'email.change_requested',
      outcome: 'success',
      actor: context.actor,
      subject: user.username,
      ip: context.ip,
      details: { old_address_told: user.email !== null },
    });
  }

  /**
   * POST /email/verify: uses the token and makes its address the user's, verified; the user as it
   * is now. InvalidVerificationTokenError for a token that cannot be used (unknown, used, expired,
   * another purpose, its user gone or disabled); EmailTakenError when another account verified the
   * address first (the token stays unused).
   */
  async verify(token: string, context: ActionContext): Promise<User> {
    if (!isMailedTokenShape(token)) throw new InvalidVerificationTokenError();
    const tokenHash = hashSecret(token);
    const record = await this.deps.store.find(tokenHash);
    if (!record || record.purpose !== 'email_verification') throw new InvalidVerificationTokenError();
    const before = await this.deps.users.findById(record.userId);
    if (!before || before.disabled) throw new InvalidVerificationTokenError();
    const change = await this.deps.store.verifyEmail(tokenHash, this.deps.clock.now(), (found) => this.changedNotice(before, found));
    if (!change) throw new InvalidVerificationTokenError();
    this.deps.mailer?.queued();
    this.deps.invalidation.userChanged(before.id);
    const after = await this.deps.users.findById(before.id);
    if (!after) throw new InvalidVerificationTokenError();
    await this.deps.audit.record({
      type: 'email.verified',
      outcome: 'success',
      actor: after.username,
      subject: after.username,
      ip: context.ip,
      details: { changed: !change.sameAddress },
    });
    return after;
  }

  /** The old address's notice that the account's address is now another (none on a first verification). */
  private changedNotice(user: User, change: EmailChange) {
    const mailer = this.deps.mailer;
    if (change.sameAddress || change.previousEmail === null || !mailer?.available) return undefined;
    return mailer.compose('email_changed', change.previousEmail, { username: user.username, new_email: change.token.email });
  }

  private async resendNow(user: User | undefined, context: ActionContext): Promise<void> {
    const refusal = accountMailRefusal(user) ?? (user?.emailVerified === true ? 'already_verified' : undefined);
    if (refusal !== undefined || !user || user.email === null) {
      await this.requests.record(user, context, 'failure', refusal ?? 'no_email');
      return;
    }
    if (!(await this.requests.allowMail(user, this.deps.mailsPerHour, context))) return;
    await this.requests.record(user, context, 'success');
    await this.send(user, user.email, 'resend', context);
  }

  /** A token for `email`, its mail and the voiding of the user's earlier unused verification tokens in one transaction. */
  private async send(user: User, email: string, reason: VerificationReason, context: ActionContext): Promise<void> {
    const { ttlHours } = this.deps;
    await this.tokens.issue({
      user,
      email,
      purpose: 'email_verification',
      ttlMs: ttlHours * 3_600_000,
      kind: 'verify_email',
      values: (token, expiresAt) => ({ username: user.username, email, token, expires_hours: String(ttlHours), expires_at: expiresAt }),
      voidEarlier: true,
    });
    await this.deps.audit.record({
      type: 'email.verification_sent',
      outcome: 'success',
      actor: context.actor,
      subject: user.username,
      ip: context.ip,
      details: { reason },
    });
  }
}
