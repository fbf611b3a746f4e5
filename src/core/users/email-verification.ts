/**
 * E-mail verification (issue 14). A verification mail carries a single-use token (32 random bytes,
 * base64url, stored as its SHA-256 with the mail in one transaction, ADR 0022) for one address:
 * sent on sign-up with an address, on a change of address (PUT /users/me/email: the old address
 * stays the account's, and is told, until the new one is verified), and on a resend. A new token
 * voids the user's earlier unused ones. `verify` uses the token and sets the user's address to the
 * token's, verified, in one transaction (MailTokenStore.verifyEmail), with the old address's notice
 * of a change in it too. `resend` answers alike whether or not the account exists or needs a mail:
 * the look-up and the mail are done after the answer (DeferredWork), as PasswordResets does.
 */
import { randomUUID } from 'node:crypto';
import type { ActionContext } from '../action-context.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Invalidation } from '../auth-cache.js';
import type { Clock } from '../clock.js';
import { DeferredWork } from '../deferred-work.js';
import { InvalidVerificationTokenError, MailUnavailableError, ValidationError } from '../errors.js';
import type { Mailer } from '../outbox/mailer.js';
import type { EmailChange, MailTokenStore, UserStore } from '../ports.js';
import type { RateCheck, RateLimits } from '../rate-limit/rate-limits.js';
import { hashSecret, randomToken } from '../secrets.js';
import { checkAccountReference, findAccount, type AccountReference } from './find-account.js';
import type { User } from './user.js';
import { emailKey, normalizeEmail } from './user-fields.js';

/** 256 bits. */
const TOKEN_BYTES = 32;
/** A token longer than this is not one of ours (43 characters): refused without a look-up. */
const MAX_TOKEN_LENGTH = 128;

/** Why a verification mail was sent (the audit event's `reason`). */
export type VerificationReason = 'sign_up' | 'email_change' | 'resend';

export interface EmailVerificationDependencies {
  readonly users: UserStore;
  readonly store: MailTokenStore;
  /** undefined (the library without a mail channel) or unavailable: sign-up sends nothing; resend and change answer MailUnavailableError. */
  readonly mailer: Mailer | undefined;
  readonly rateLimits: RateLimits;
  readonly audit: AuditLog;
  readonly invalidation: Invalidation;
  readonly clock: Clock;
  readonly ttlHours: number;
  readonly mailsPerHour: number;
  /** Work failed after its request was answered (a resend), or a sign-up's mail could not be queued: for the log. Never given a token. */
  readonly onError: (error: unknown) => void;
}

export class EmailVerifications {
  private readonly work: DeferredWork;

  constructor(private readonly deps: EmailVerificationDependencies) {
    this.work = new DeferredWork('e-mail verification', deps.onError);
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
  async resend(who: AccountReference, context: ActionContext): Promise<RateCheck | undefined> {
    checkAccountReference(who);
    if (!this.deps.mailer?.available) throw new MailUnavailableError();
    const check = await this.deps.rateLimits.checkIp({ action: 'email_verify_resend' }, context);
    this.work.defer(() => this.resendNow(who, context));
    return check;
  }

  /** Resolves once the work of every request answered so far is done (tests; a clean close). */
  settled(): Promise<void> {
    return this.work.settled();
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
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw new InvalidVerificationTokenError();
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

  private async resendNow(who: AccountReference, context: ActionContext): Promise<void> {
    const user = await findAccount(this.deps.users, who);
    const refusal = !user
      ? 'no_such_account'
      : user.disabled
        ? 'disabled'
        : user.email === null
          ? 'no_email'
          : user.emailVerified
            ? 'already_verified'
            : undefined;
    if (refusal !== undefined || !user || user.email === null) {
      await this.recordRequest(user, context, 'failure', refusal ?? 'no_email');
      return;
    }
    const allowed = await this.deps.rateLimits.allowAccountMail(
      'email_verify_resend',
      user,
      { perMinute: this.deps.mailsPerHour / 60, burst: this.deps.mailsPerHour },
      context,
    );
    if (!allowed) return; // audited by the rate limits (at most once a minute per account)
    await this.recordRequest(user, context, 'success');
    await this.send(user, user.email, 'resend', context);
  }

  /** A token for `email`, its mail in the same transaction; the user's earlier unused verification tokens are voided first. */
  private async send(user: User, email: string, reason: VerificationReason, context: ActionContext): Promise<void> {
    const mailer = this.deps.mailer;
    if (!mailer) throw new MailUnavailableError();
    const token = randomToken(TOKEN_BYTES);
    const createdAt = this.deps.clock.now();
    const expiresAt = createdAt + this.deps.ttlHours * 3_600_000;
    const mail = mailer.compose('verify_email', email, {
      username: user.username,
      email,
      token,
      expires_hours: String(this.deps.ttlHours),
      expires_at: `${new Date(expiresAt).toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    });
    await this.deps.store.invalidateAll(user.id, 'email_verification', createdAt);
    await this.deps.store.issue(
      {
        id: randomUUID(),
        userId: user.id,
        purpose: 'email_verification',
        email,
        tokenHash: hashSecret(token),
        createdAt,
        expiresAt,
        usedAt: null,
      },
      mail,
    );
    mailer.queued();
    await this.deps.audit.record({
      type: 'email.verification_sent',
      outcome: 'success',
      actor: context.actor,
      subject: user.username,
      ip: context.ip,
      details: { reason },
    });
  }

  private recordRequest(user: User | undefined, context: ActionContext, outcome: 'success' | 'failure', reason?: string): Promise<void> {
    return this.deps.audit.record({
      type: 'email.verification_requested',
      outcome,
      actor: context.actor,
      subject: user?.username ?? null,
      ip: context.ip,
      ...(reason === undefined ? {} : { details: { reason } }),
    });
  }
}
