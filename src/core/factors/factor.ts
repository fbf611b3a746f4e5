/**
 * Second factors (issue 15, ADR 0024): what a user enrols beside the password, and how a login was
 * proved. A factor has a `kind` so that WebAuthn can join TOTP without reshaping the store or the
 * grant; the `amr` values are RFC 8176's, the `acr` values this server's own.
 */

/** The kinds of factor a user can enrol. */
export type FactorKind = 'totp';

/** What the mfa_required answer offers, in its `factors` list. */
export type SecondFactorMethod = FactorKind | 'recovery_code';

/** A user's factor as stored; `secretSealed` never leaves core. Times in ms since the epoch. */
export interface Factor {
  readonly id: string;
  readonly userId: string;
  readonly kind: FactorKind;
  readonly name: string;
  readonly secretSealed: string;
  readonly createdAt: number;
  /** null while the enrolment waits for its first code. */
  readonly confirmedAt: number | null;
  readonly lastUsedAt: number | null;
  /** TOTP: the time step of the last accepted code. */
  readonly lastStep: number | null;
}

/** What GET /users/me/factors shows of a factor: never its secret. */
export interface PublicFactor {
  readonly id: string;
  readonly kind: FactorKind;
  readonly name: string;
  readonly created_at: string;
  readonly last_used_at: string | null;
}

export function toPublicFactor(factor: Factor): PublicFactor {
  return {
    id: factor.id,
    kind: factor.kind,
    name: factor.name,
    created_at: new Date(factor.createdAt).toISOString(),
    last_used_at: factor.lastUsedAt === null ? null : new Date(factor.lastUsedAt).toISOString(),
  };
}

/** RFC 8176 `amr` values (and `link`, a mailed sign-in link, which has none). */
export type AuthMethod = 'pwd' | 'otp' | 'link';

/** The `acr` of a login by one factor, and of one with a second factor. */
export const ACR_SINGLE_FACTOR = 'urn:portcullis:acr:pwd';
export const ACR_MFA = 'urn:portcullis:acr:mfa';

/** How a session's login was proved: the `amr`, `acr` and `auth_time` claims of its access tokens. */
export interface SessionAuthentication {
  readonly amr: readonly AuthMethod[];
  readonly acr: string;
  /** When the user last proved who they are (ms since the epoch). */
  readonly authTime: number;
}

/** A login by one factor (a password, or a sign-in link). */
export function singleFactor(method: AuthMethod, authTime: number): SessionAuthentication {
  return { amr: [method], acr: ACR_SINGLE_FACTOR, authTime };
}

/** A login completed with a second factor. TOTP and recovery codes are both one-time passwords (RFC 8176 `otp`). */
export function multiFactor(first: AuthMethod, authTime: number): SessionAuthentication {
  return { amr: [first, 'otp'], acr: ACR_MFA, authTime };
}

/** The state behind an mfa_token. */
export interface MfaChallenge {
  readonly tokenHash: string;
  readonly userId: string;
  readonly tokenVersion: number;
  readonly firstFactor: AuthMethod;
  readonly scopes: readonly string[];
  readonly clientId: string | null;
  /** The login guard's ticket of the password attempt, as JSON (undefined: no guard). */
  readonly guardTicket: string | null;
  readonly attempts: number;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly usedAt: number | null;
  /** The pending factor POST /mfa/enrol started with this token (MFA policy, no factor yet); null otherwise. */
  readonly enrolmentFactorId: string | null;
}

/** The store of factors, recovery codes and mfa_token state. */
export interface FactorStore {
  create(factor: Factor): Promise<void>;
  /** Every factor of the user, pending ones too, oldest first. */
  listByUser(userId: string): Promise<Factor[]>;
  /** Whether the user has a confirmed factor (the password grant asks on every login). */
  hasConfirmed(userId: string): Promise<boolean>;
  /** Marks a pending factor confirmed with its first step; false when it is not pending. */
  confirm(id: string, step: number, nowMs: number): Promise<boolean>;
  /** Records a code of `step` as used; false when a code of that step or a later one was (the WHERE decides a race). */
  useStep(id: string, step: number, nowMs: number): Promise<boolean>;
  /** false when no such factor of the user; when no confirmed factor is left, the user's recovery codes go too (one transaction). */
  remove(userId: string, id: string): Promise<boolean>;
  /** Removes every factor and recovery code of the user; the number of factors removed. */
  removeAll(userId: string): Promise<number>;
  /** Replaces the user's recovery codes by these hashes, in one transaction. */
  replaceRecoveryCodes(userId: string, codeHashes: readonly string[], nowMs: number): Promise<void>;
  /** Uses an unused recovery code of the user; false when there is none with that hash. */
  useRecoveryCode(userId: string, codeHash: string, nowMs: number): Promise<boolean>;
  /** How many unused recovery codes the user has. */
  countRecoveryCodes(userId: string): Promise<number>;
  createChallenge(challenge: MfaChallenge): Promise<void>;
  /**
   * Spends one attempt of an unused, unexpired challenge with fewer than `maxAttempts` attempts,
   * and returns it (with the attempt counted); undefined otherwise. Concurrent attempts each spend one.
   */
  spendAttempt(tokenHash: string, nowMs: number, maxAttempts: number): Promise<MfaChallenge | undefined>;
  /** Marks the challenge used; false when it was already (the WHERE decides a race). */
  useChallenge(tokenHash: string, nowMs: number): Promise<boolean>;
  /** Binds the pending factor an enrolment at login started to an unused, unexpired challenge; false otherwise. */
  setEnrolment(tokenHash: string, factorId: string, nowMs: number): Promise<boolean>;
}
