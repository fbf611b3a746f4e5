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
import { InvalidMfaTokenError, InvalidOtpError, InvalidWebAuthnResponseError, MfaRequiredError, NotFoundError } from '../errors.js';
import type { LoginTicket } from '../login/login-guard.js';
import type { RateLimits } from '../rate-limit/rate-limits.js';
import { hashSecret, randomToken } from '../secrets.js';
import type { User } from '../users/user.js';
import type { UserStore } from '../ports.js';
import type { FactorStore, FirstFactor, SecondFactor } from './factor.js';
import { proofMethod, type FactorService, type SecondFactorProof, type TotpEnrolment } from './factor-service.js';

export const MFA_TOKEN_TTL_MS = 5 * 60_000;
/** Codes one mfa_token allows; then it is dead and the login starts over with the password. */
export const MAX_MFA_ATTEMPTS = 5;
/** The account's bucket of second-factor attempts: 10 at once, then 6 an hour. */
export const SECOND_FACTOR_BUCKET: TokenBucketSettings = Object.freeze({ burst: 10, perMinute: 0.1 });

/** What the second step hands back for the login to be opened. */
export interface CompletedMfa {
  readonly user: User;
  readonly scopes: readonly string[];
  readonly firstFactor: FirstFactor;
  readonly secondFactor: SecondFactor;
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
    firstFactor: FirstFactor,
    ticket: LoginTicket | undefined,
    context: ActionContext,
    enrolmentRequired = false,
  ): Promise<MfaRequiredError> {
    const token = randomToken(32);
    // A user with a WebAuthn factor gets the options of an assertion, bound to this token by their challenge.
    const webauthn = enrolmentRequired ? undefined : await this.deps.factors.webauthnOptions(user);
    const now = this.deps.clock.now();
    await this.deps.store.createChallenge({
      tokenHash: hashSecret(token),
      userId: user.id,
      tokenVersion: user.tokenVersion,
      firstFactor,
      scopes,
      clientId,
      guardTicket: ticket === undefined ? null : JSON.stringify(ticket),
      webauthnChallenge: webauthn?.challenge ?? null,
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
    return new MfaRequiredError(token, enrolmentRequired ? [] : await this.deps.factors.methods(user), enrolmentRequired, webauthn);
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
    let secondFactor: SecondFactor | undefined;
    let recoveryCodes: readonly string[] | undefined;
    let refusal: InvalidWebAuthnResponseError | undefined;
    try {
      if (challenge.enrolmentFactorId !== null && 'otp' in proof) {
        // The first code of the factor enrolled at login confirms it.
        recoveryCodes = await this.confirmEnrolment(user, challenge.enrolmentFactorId, proof.otp, context);
        secondFactor = recoveryCodes === undefined ? undefined : 'otp';
      } else {
        secondFactor = await this.deps.factors.verify(user, proof, challenge.webauthnChallenge);
      }
    } catch (error) {
      if (!(error instanceof InvalidWebAuthnResponseError)) throw error;
      refusal = error;
    }
    if (secondFactor === undefined) {
      const left = MAX_MFA_ATTEMPTS - challenge.attempts;
      await this.deps.audit.record({
        type: 'mfa.failure',
        outcome: 'failure',
        subject: user.username,
        ip: context.ip,
        details: { method: proofMethod(proof), attempts_left: left, ...(refusal ? { reason: refusal.message } : {}) },
      });
      if (left <= 0) throw new InvalidMfaTokenError();
      const more = `${left} attempt${left === 1 ? '' : 's'} left with this mfa_token`;
      if (refusal) throw new InvalidWebAuthnResponseError(`${refusal.message}; ${more}`);
      throw new InvalidOtpError(`Invalid or used one-time code; ${more}`);
    }
    // Of two right codes sent at once with one token, one login.
    if (!(await store.useChallenge(tokenHash, clock.now()))) throw new InvalidMfaTokenError();
    return {
      user,
      scopes: challenge.scopes,
      firstFactor: challenge.firstFactor,
      secondFactor,
      ticket: challenge.guardTicket === null ? undefined : (JSON.parse(challenge.guardTicket) as LoginTicket),
      ...(recoveryCodes === undefined || recoveryCodes.length === 0 ? {} : { recoveryCodes }),
    };
  }

  /**
   * Confirms the factor enrolled at login with its first code: the recovery codes of a first factor
   * (an empty list for a later one), or undefined for a wrong code.
   */
  private async confirmEnrolment(
    user: User,
    factorId: string,
    otp: string,
    context: ActionContext,
  ): Promise<readonly string[] | undefined> {
    try {
      const { recoveryCodes } = await this.deps.factors.confirmTotp(user, factorId, otp, { ...context, actor: user.username });
      return recoveryCodes ?? [];
    } catch (error) {
      if (error instanceof InvalidOtpError) return undefined;
      // The pending factor waited too long, or was removed: the login starts over.
      if (error instanceof NotFoundError) throw new InvalidMfaTokenError();
      throw error;
    }
  }
}
