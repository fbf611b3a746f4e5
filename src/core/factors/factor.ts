/**
 * Second factors (issue 15, ADR 0024): what a user enrols beside the password, and how a login was
 * proved. A factor has a `kind` so that WebAuthn can join TOTP without reshaping the store or the
 * grant; the `amr` values are RFC 8176's, the `acr` values this server's own.
 */

/** The kinds of factor a user can enrol: an authenticator app, or a WebAuthn authenticator (a passkey, a security key). */
export type FactorKind = 'totp' | 'webauthn';

/** What the mfa_required answer offers, in its `factors` list. */
export type SecondFactorMethod = FactorKind | 'recovery_code';

interface StoredFactor {
  readonly id: string;
  readonly userId: string;
  readonly name: string;
  readonly createdAt: number;
  /** null while the enrolment waits for its first code (TOTP) or the authenticator's answer (WebAuthn). */
  readonly confirmedAt: number | null;
  readonly lastUsedAt: number | null;
}

/** An authenticator app's factor as stored; `secretSealed` never leaves core. Times in ms since the epoch. */
export interface TotpFactor extends StoredFactor {
  readonly kind: 'totp';
  readonly secretSealed: string;
  /** The time step of the last accepted code. */
  readonly lastStep: number | null;
}

/** What is kept of a WebAuthn credential: its id and public key (base64url), never a secret. */
export interface WebAuthnCredential {
  readonly credentialId: string;
  /** The COSE public key, base64url. */
  readonly publicKey: string;
  /** The authenticator's signature counter (0 for authenticators that keep none, as synced passkeys do). */
  readonly signCount: number;
  readonly transports: readonly string[];
  /** `multiDevice`: a synced passkey; `singleDevice`: bound to one authenticator (a security key). */
  readonly deviceType: 'singleDevice' | 'multiDevice';
  /** The backup state flag of the last ceremony (BS). */
  readonly backedUp: boolean;
}

/** A WebAuthn factor as stored: pending with the registration's challenge, then confirmed with its credential. */
export type WebAuthnFactor = StoredFactor & { readonly kind: 'webauthn' } & (
    | { readonly registrationChallenge: string; readonly credential: null }
    | { readonly registrationChallenge: null; readonly credential: WebAuthnCredential }
  );

/** A user's factor as stored. */
export type Factor = TotpFactor | WebAuthnFactor;

/** What GET /users/me/factors shows of a factor: never its secret. */
export interface PublicFactor {
  readonly id: string;
  readonly kind: FactorKind;
  readonly name: string;
  readonly created_at: string;
  readonly last_used_at: string | null;
  /** WebAuthn only: whether the credential is backed up (a synced passkey). */
  readonly backed_up?: boolean;
}

export function toPublicFactor(factor: Factor): PublicFactor {
  return {
    id: factor.id,
    kind: factor.kind,
    name: factor.name,
    created_at: new Date(factor.createdAt).toISOString(),
    last_used_at: factor.lastUsedAt === null ? null : new Date(factor.lastUsedAt).toISOString(),
    ...(factor.kind === 'webauthn' && factor.credential !== null ? { backed_up: factor.credential.backedUp } : {}),
  };
}

/**
 * RFC 8176 `amr` values (and `link`, a mailed sign-in link, which has none): `hwk` a WebAuthn
 * authenticator's signature, `mfa` beside it for a passkey login whose authenticator verified the user.
 */
export type AuthMethod = 'pwd' | 'otp' | 'link' | 'hwk' | 'mfa';

/** How a first step can be proved (what an mfa_token remembers). */
export type FirstFactor = 'pwd' | 'link';

/** How a second step can be proved: a one-time code (TOTP or recovery code), or a WebAuthn authenticator. */
export type SecondFactor = 'otp' | 'hwk';

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
export function singleFactor(method: FirstFactor, authTime: number): SessionAuthentication {
  return { amr: [method], acr: ACR_SINGLE_FACTOR, authTime };
}

/** A login completed with a second factor. TOTP and recovery codes are both one-time passwords (RFC 8176 `otp`). */
export function multiFactor(first: FirstFactor, second: SecondFactor, authTime: number): SessionAuthentication {
  return { amr: [first, second], acr: ACR_MFA, authTime };
}

/**
 * A passkey login (PASSKEY_LOGIN=on): the authenticator's signature (`hwk`) after it verified the
 * user by PIN or biometrics (WebAuthn's UV flag, required), which makes it multi-factor (`mfa`).
 */
export function passkeyLogin(authTime: number): SessionAuthentication {
  return { amr: ['hwk', 'mfa'], acr: ACR_MFA, authTime };
}

/** The state behind an mfa_token. */
export interface MfaChallenge {
  readonly tokenHash: string;
  readonly userId: string;
  readonly tokenVersion: number;
  readonly firstFactor: FirstFactor;
  /** The challenge of the WebAuthn options the mfa_required answer carried (null: the user had no WebAuthn factor). */
  readonly webauthnChallenge: string | null;
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
  /** Marks a pending WebAuthn factor confirmed with its credential; false when it is not pending. */
  confirmWebAuthn(id: string, credential: WebAuthnCredential, nowMs: number): Promise<boolean>;
  /** The confirmed WebAuthn factor of this credential id, whoever's it is. */
  findByCredentialId(credentialId: string): Promise<(WebAuthnFactor & { readonly credential: WebAuthnCredential }) | undefined>;
  /**
   * Records a WebAuthn ceremony of the factor: its new counter and backup flag; false when the
   * stored counter is no longer `previousCount` (another ceremony won the race).
   */
  useCredential(id: string, previousCount: number, newCount: number, backedUp: boolean, nowMs: number): Promise<boolean>;
  /** Keeps the challenge of a passkey login's options (only its SHA-256), deleting expired ones. */
  createLoginChallenge(challengeHash: string, nowMs: number, expiresAtMs: number): Promise<void>;
  /** Uses an unused, unexpired passkey-login challenge; false otherwise (the WHERE decides a race). */
  useLoginChallenge(challengeHash: string, nowMs: number): Promise<boolean>;
  /** Records a code of `step` as used; false when a code of that step or a later one was (the WHERE decides a race). */
  useStep(id: string, step: number, nowMs: number): Promise<boolean>;
  /** Renames a confirmed factor of the user; false when there is none with that id. */
  rename(userId: string, id: string, name: string): Promise<boolean>;
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
