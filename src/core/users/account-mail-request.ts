/**
 * The requests that mail an account and are answered alike whether or not it exists (issue 14,
 * ADR 0023): a password reset, a new verification link, a sign-in link. One place for their accept
 * step: the request's shape (exactly one of email and username), that mail can be sent, and the
 * client address's bucket of the action are checked before the answer; the account's look-up and
 * whatever follows (each flow's own refusals, its per-account bucket, its mail, its audit event)
 * are done after it (DeferredWork), so neither the answer nor its timing says whether the account
 * exists.
 */
import type { ActionContext } from '../action-context.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { AuditEventType } from '../audit/audit-event.js';
import { DeferredWork } from '../deferred-work.js';
import { MailUnavailableError } from '../errors.js';
import type { Mailer } from '../outbox/mailer.js';
import type { Clock } from '../clock.js';
import type { MailTokenStore, UserStore } from '../ports.js';
import type { MailRequestAction, RateCheck, RateLimits } from '../rate-limit/rate-limits.js';
import { checkAccountReference, findAccount, type AccountReference } from './find-account.js';
import type { User } from './user.js';

/** Why an account gets no mail, whatever the request (a flow may have more reasons of its own). */
export type AccountMailRefusal = 'no_such_account' | 'disabled' | 'no_email';

/** The refusal every mail request shares, or undefined when the account can be mailed. */
export function accountMailRefusal(user: User | undefined): AccountMailRefusal | undefined {
  return !user ? 'no_such_account' : user.disabled ? 'disabled' : user.email === null ? 'no_email' : undefined;
}

/** What each flow that mails an account a token (reset, verification, sign-in link) is built with. */
export interface MailingDependencies {
  readonly users: UserStore;
  readonly store: MailTokenStore;
  /** undefined (the library without a mail channel) or unavailable: requests are refused with MailUnavailableError. */
  readonly mailer: Mailer | undefined;
  readonly rateLimits: RateLimits;
  readonly audit: AuditLog;
  readonly clock: Clock;
  /** Work failed after its request was answered (the database down, say): for the log. Never given a token. */
  readonly onError: (error: unknown) => void;
}

export interface AccountMailRequestsDependencies {
  /** The action: its client address bucket, and its per-account bucket of mails. */
  readonly action: MailRequestAction;
  /** What is asked for, for the messages of dropped work ("password reset"). */
  readonly name: string;
  /** The audit event of each request's outcome (`password.reset_requested`, ...). */
  readonly auditType: AuditEventType;
  readonly users: UserStore;
  /** undefined (the library without a mail channel) or unavailable: requests are refused with MailUnavailableError. */
  readonly mailer: Mailer | undefined;
  readonly rateLimits: RateLimits;
  readonly audit: AuditLog;
  /** A request's work failed after it was answered (the database down, say): for the log. Never given a token. */
  readonly onError: (error: unknown) => void;
}

export class AccountMailRequests {
  private readonly work: DeferredWork;

  constructor(private readonly deps: AccountMailRequestsDependencies) {
    this.work = new DeferredWork(deps.name, deps.onError);
  }

  /**
   * Checks the request's shape (InvalidRequestError), that mail can be sent (MailUnavailableError),
   * and the client address's bucket (RateLimitedError), then returns: `work` is given the account
   * `who` names (undefined: none) after the answer. Returns the address's check for the RateLimit-* headers.
   */
  async accept(
    who: AccountReference,
    context: ActionContext,
    work: (user: User | undefined) => Promise<void>,
  ): Promise<RateCheck | undefined> {
    checkAccountReference(who);
    if (!this.deps.mailer?.available) throw new MailUnavailableError();
    const check = await this.deps.rateLimits.checkIp({ action: this.deps.action }, context);
    this.work.defer(async () => work(await findAccount(this.deps.users, who)));
    return check;
  }

  /** Resolves once the work of every request answered so far is done (tests; a clean close). */
  settled(): Promise<void> {
    return this.work.settled();
  }

  /** Takes one mail from the account's bucket of this action (false: none left, audited by the rate limits at most once a minute). */
  allowMail(user: User, mailsPerHour: number, context: ActionContext): Promise<boolean> {
    return this.deps.rateLimits.allowAccountMail(this.deps.action, user, { perMinute: mailsPerHour / 60, burst: mailsPerHour }, context);
  }

  /** The request's audit event: its outcome, the account (if any), and a failure's reason. */
  record(user: User | undefined, context: ActionContext, outcome: 'success' | 'failure', reason?: string): Promise<void> {
    return this.deps.audit.record({
      type: this.deps.auditType,
      outcome,
      actor: context.actor,
      subject: user?.username ?? null,
      ip: context.ip,
      ...(reason === undefined ? {} : { details: { reason } }),
    });
  }
}
