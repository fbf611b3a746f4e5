/**
 * The mfa_token of a login's second step (ADR 0024): a random token handed out with the
 * `mfa_required` answer once the first step (the password, or a sign-in link) was right. Only its
 * SHA-256 is stored, with what it is bound to: the user and their token version (a password change
 * voids it), the first factor, the scopes and the client of the first step, and the login guard's
 * ticket for the completed login's bookkeeping. It lives five minutes, is used once, and allows
 * MAX_MFA_ATTEMPTS codes; the account's own bucket of second-factor attempts bounds guessing across
 * tokens, apart from the password's (no lockout: docs/SECURITY.md).
 *
 * A user whom the MFA policy requires to have a second factor and who has none gets an mfa_token
 * too (`enrolmentRequired`): with it, and only while the user has no confirmed factor, `enrol`
 * starts a pending TOTP factor bound to the token, and the mfa grant's first code confirms it and
 * completes the login in one step, handing out the recovery codes (ADR 0024 "Policy").
 */
import type { ActionContext } from '../action-context.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { TokenBucketSettings } from '../config.js';
import { InvalidMfaTokenError, InvalidOtpError, MfaRequiredError, NotFoundError } from '../errors.js';
import type { LoginTicket } from '../login/login-guard.js';
import type { RateLimits } from '../rate-limit/rate-limits.js';
import { hashSecret, randomToken } from '../secrets.js';
import type { User } from '../users/user.js';
import type { UserStore } from '../ports.js';
import type { AuthMethod, FactorStore } from './factor.js';
import type { FactorService, SecondFactorProof, TotpEnrolment } from './factor-service.js';

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
  /** The login confirmed the user's first factor (an enrolment at login): its recovery codes, shown this once. */
  readonly recoveryCodes?: readonly string[];
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
    enrolmentRequired = false,
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
      enrolmentFactorId: null,
    });
    await this.deps.audit.record({
      type: 'mfa.challenged',
      outcome: 'success',
      subject: user.username,
      ip: context.ip,
      details: { first_factor: firstFactor, ...(enrolmentRequired ? { enrolment_required: true } : {}) },
    });
    return new MfaRequiredError(token, enrolmentRequired ? [] : await this.deps.factors.methods(user), enrolmentRequired);
  }

  /**
   * POST /mfa/enrol: a pending TOTP factor for the user of an mfa_token, bound to it, for a user
   * with no confirmed factor only (a password thief must not add a factor to an account that has
   * one). Spends one of the token's attempts. InvalidMfaTokenError otherwise.
   */
  async enrol(token: string, name: string | undefined, context: ActionContext): Promise<TotpEnrolment> {
    const { store, clock, factors } = this.deps;
    const tokenHash = hashSecret(token);
    const challenge = await store.spendAttempt(tokenHash, clock.now(), MAX_MFA_ATTEMPTS);
    if (!challenge) throw new InvalidMfaTokenError();
    const user = await this.deps.users.findById(challenge.userId);
    if (!user || user.disabled || user.tokenVersion !== challenge.tokenVersion) throw new InvalidMfaTokenError();
    if (await factors.required(user)) {
      await this.deps.audit.record({
        type: 'mfa.failure',
        outcome: 'failure',
        subject: user.username,
        ip: context.ip,
        details: { method: 'enrolment', reason: 'has_factor' },
      });
      throw new InvalidMfaTokenError('The account has a second factor already: it cannot enrol another with an mfa_token');
    }
    const enrolment = await factors.enrolTotp(user, name, { ...context, actor: user.username });
    if (!(await store.setEnrolment(tokenHash, enrolment.id, clock.now()))) throw new InvalidMfaTokenError();
    return enrolment;
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
    const enrolled = challenge.enrolmentFactorId !== null && 'otp' in proof;
    const checked = enrolled
      ? await this.confirmEnrolment(user, challenge.enrolmentFactorId!, proof.otp, context)
      : { ok: await this.deps.factors.verify(user, proof) };
    if (!checked.ok) {
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
      ...(checked.recoveryCodes === undefined ? {} : { recoveryCodes: checked.recoveryCodes }),
    };
  }

  /** The first code of the factor enrolled at login confirms it (and brings the recovery codes of a first factor). */
  private async confirmEnrolment(
    user: User,
    factorId: string,
    otp: string,
    context: ActionContext,
  ): Promise<{ ok: boolean; recoveryCodes?: readonly string[] }> {
    try {
      const { recoveryCodes } = await this.deps.factors.confirmTotp(user, factorId, otp, { ...context, actor: user.username });
      return recoveryCodes === undefined ? { ok: true } : { ok: true, recoveryCodes };
    } catch (error) {
      if (error instanceof InvalidOtpError) return { ok: false };
      // The pending factor waited too long, or was removed: the login starts over.
      if (error instanceof NotFoundError) throw new InvalidMfaTokenError();
      throw error;
    }
  }
}
