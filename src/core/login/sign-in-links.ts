/**
 * Sign-in links (magic links, issue 14), opt-in with SIGN_IN_LINKS=on. `request` answers at once,
 * the same for every request that passes the client address's rate limit, as a password reset
 * request does: the account look-up, the per-account limit, the token and its mail are done after
 * the answer (AccountMailRequests), so neither the answer nor its timing says whether the account exists.
 * The mail goes to the account's address, verified or not: whoever reads that mailbox can reset the
 * password already, so a link gives them nothing new (docs/SECURITY.md). The token (MailedTokens: 256
 * bits, stored as its SHA-256 with its mail in one transaction, ADR 0022) has the purpose
 * `sign_in`, single use, valid SIGN_IN_LINK_TTL_MINUTES; a password change voids it.
 *
 * `redeem` uses the token (and voids the user's other links) and returns the user for the grant
 * to open a session (TokenService.provenLogin). It proves the mailbox, not a guess, so it passes
 * no login throttle and no challenge: it is the owner's way in past a throttle that costs no work
 * (ADR 0008, ADR 0009). It marks the address verified, if the link went to the account's address
 * as it is now. It leaves the password backoff alone (see SECURITY.md).
 */
import type { ActionContext } from '../action-context.js';
import type { Invalidation } from '../auth-cache.js';
import type { SignInLinkSettings } from '../config.js';
import { EmailTakenError, InactiveUserError, InvalidSignInLinkError, NotFoundError } from '../errors.js';
import { isMailedTokenShape, MailedTokens } from '../outbox/mailed-token.js';
import type { MailTokenRecord } from '../ports.js';
import type { RateCheck } from '../rate-limit/rate-limits.js';
import { hashSecret } from '../secrets.js';
import { AccountMailRequests, accountMailRefusal, type MailingDependencies } from '../users/account-mail-request.js';
import type { AccountReference } from '../users/find-account.js';
import type { User } from '../users/user.js';
import { emailKey } from '../users/user-fields.js';

export const SIGN_IN_LINKS_OFF = 'Sign-in links are not enabled on this server (SIGN_IN_LINKS=off)';

export interface SignInLinkDependencies extends MailingDependencies {
  readonly invalidation: Invalidation;
  readonly settings: SignInLinkSettings;
}

export class SignInLinks {
  private readonly requests: AccountMailRequests;
  private readonly tokens: MailedTokens;

  constructor(private readonly deps: SignInLinkDependencies) {
    this.requests = new AccountMailRequests({ ...deps, action: 'sign_in_link', name: 'sign-in link', auditType: 'sign_in_link.requested' });
    this.tokens = new MailedTokens(deps);
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
    return this.requests.accept(who, context, (user) => this.issue(user, context));
  }

  /** Resolves once the work of every request answered so far is done (tests; a clean close). */
  settled(): Promise<void> {
    return this.requests.settled();
  }

  /**
   * Uses the link's token: the enabled user it signs in (InvalidSignInLinkError for a token that is
   * unknown, used, expired or of another purpose; InactiveUserError for a disabled user). The caller
   * checks that links are enabled (the grant is unsupported otherwise).
   */
  async redeem(token: string, context: ActionContext): Promise<User> {
    if (!isMailedTokenShape(token)) throw new InvalidSignInLinkError();
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

  private async issue(user: User | undefined, context: ActionContext): Promise<void> {
    const refusal = accountMailRefusal(user);
    if (refusal !== undefined || !user || user.email === null) {
      await this.requests.record(user, context, 'failure', refusal ?? 'no_email');
      return;
    }
    const { mailsPerHour, ttlMinutes } = this.deps.settings;
    if (!(await this.requests.allowMail(user, mailsPerHour, context))) return;
    await this.tokens.issue({
      user,
      email: user.email,
      purpose: 'sign_in',
      ttlMs: ttlMinutes * 60_000,
      kind: 'sign_in_link',
      values: (token, expiresAt) => ({ username: user.username, token, expires_minutes: String(ttlMinutes), expires_at: expiresAt }),
    });
    await this.requests.record(user, context, 'success');
  }
}
