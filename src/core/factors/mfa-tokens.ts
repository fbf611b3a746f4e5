/**
 * The mfa_token of a login's second step (ADR 0024): a random token handed out with the
 * `mfa_required` answer once the first step (the password, or a sign-in link) was right. Only its
 * SHA-256 is stored, with what it is bound to: the user and their token version (a password change
 * voids it), the first factor, the scopes and the client of the first step, and the login guard's
 * ticket for the completed login's bookkeeping. It lives five minutes, is used once, and allows
 * MAX_MFA_ATTEMPTS codes; the account's own bucket of second-factor attempts bounds guessing across
 * tokens, apart from the password's (no lockout: docs/SECURITY.md).
 */
import type { ActionContext } from '../action-context.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { TokenBucketSettings } from '../config.js';
import { InvalidMfaTokenError, InvalidOtpError, MfaRequiredError } from '../errors.js';
import type { LoginTicket } from '../login/login-guard.js';
import type { RateLimits } from '../rate-limit/rate-limits.js';
import { hashSecret, randomToken } from '../secrets.js';
import type { User } from '../users/user.js';
import type { UserStore } from '../ports.js';
import type { AuthMethod, FactorStore } from './factor.js';
import type { FactorService, SecondFactorProof } from './factor-service.js';

export const MFA_TOKEN_TTL_MS = 5 * 60_000;
/** Codes one mfa_token allows; then it is dead and the login starts over with the password. */
export const MAX_MFA_ATTEMPTS = 5;
/** The account's bucket of second-factor attempts: 10 at once, then 6 an hour. */
export const SECOND_FACTOR_BUCKET: TokenBucketSettings = Object.freeze({ burst: 10, perMinute: 0.1 });

/** What the second step hands back for the login to be opened. */
export interface CompletedMfa {
  readonly user: User;
  readonly scopes: readonly string[];
  readonly firstFactor: AuthMethod;
  readonly ticket: LoginTicket | undefined;
}

export interface MfaTokensDependencies {
  readonly store: FactorStore;
  readonly users: UserStore;
  readonly factors: FactorService;
  readonly rateLimits: RateLimits;
  readonly clock: Clock;
  readonly audit: AuditLog;
}

export class MfaTokens {
  constructor(private readonly deps: MfaTokensDependencies) {}

  /** The MfaRequiredError to throw for a first step that was right, with a new mfa_token. */
  async challenge(
    user: User,
    scopes: readonly string[],
    clientId: string | null,
    firstFactor: AuthMethod,
    ticket: LoginTicket | undefined,
    context: ActionContext,
  ): Promise<MfaRequiredError> {
    const token = randomToken(32);
    const now = this.deps.clock.now();
    await this.deps.store.createChallenge({
      tokenHash: hashSecret(token),
      userId: user.id,
      tokenVersion: user.tokenVersion,
      firstFactor,
      scopes,
      clientId,
      guardTicket: ticket === undefined ? null : JSON.stringify(ticket),
      attempts: 0,
      createdAt: now,
      expiresAt: now + MFA_TOKEN_TTL_MS,
      usedAt: null,
    });
    await this.deps.audit.record({
      type: 'mfa.challenged',
      outcome: 'success',
      subject: user.username,
      ip: context.ip,
      details: { first_factor: firstFactor },
    });
    return new MfaRequiredError(token, await this.deps.factors.methods(user));
  }

  /**
   * The second step: spends one of the token's attempts and one of the account's, then checks the
   * code. InvalidMfaTokenError for a token that cannot be used (unknown, used, expired, out of
   * attempts, another client's, the account changed), InvalidOtpError for a wrong code,
   * RateLimitedError past the account's bucket.
   */
  async complete(token: string, proof: SecondFactorProof, clientId: string | null, context: ActionContext): Promise<CompletedMfa> {
    const { store, clock } = this.deps;
    const tokenHash = hashSecret(token);
    const challenge = await store.spendAttempt(tokenHash, clock.now(), MAX_MFA_ATTEMPTS);
    if (!challenge || challenge.clientId !== clientId) throw new InvalidMfaTokenError();
    const user = await this.deps.users.findById(challenge.userId);
    if (!user || user.disabled || user.tokenVersion !== challenge.tokenVersion) throw new InvalidMfaTokenError();
    await this.deps.rateLimits.checkSecondFactor(user, SECOND_FACTOR_BUCKET, context);
    if (!(await this.deps.factors.verify(user, proof))) {
      const left = MAX_MFA_ATTEMPTS - challenge.attempts;
      await this.deps.audit.record({
        type: 'mfa.failure',
        outcome: 'failure',
        subject: user.username,
        ip: context.ip,
        details: { method: 'otp' in proof ? 'otp' : 'recovery_code', attempts_left: left },
      });
      if (left <= 0) throw new InvalidMfaTokenError();
      throw new InvalidOtpError(`Invalid or used one-time code; ${left} attempt${left === 1 ? '' : 's'} left with this mfa_token`);
    }
    // Of two right codes sent at once with one token, one login.
    if (!(await store.useChallenge(tokenHash, clock.now()))) throw new InvalidMfaTokenError();
    return {
      user,
      scopes: challenge.scopes,
      firstFactor: challenge.firstFactor,
      ticket: challenge.guardTicket === null ? undefined : (JSON.parse(challenge.guardTicket) as LoginTicket),
    };
  }
}
