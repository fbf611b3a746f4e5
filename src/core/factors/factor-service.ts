/**
 * A user's second factors (issue 15, ADRs 0024 and 0025): TOTP enrolment (pending until a first
 * code confirms it), WebAuthn registration (pending until the authenticator answers its options),
 * the list, removal, recovery codes, and the check of a second step at login. TOTP secrets are
 * sealed at rest (SealedBox, their own key, bound to the factor's row); a code is accepted once:
 * the store records its time step and refuses that step again. The WebAuthn ceremonies are
 * webauthn.ts's.
 */
import type { ActionContext } from '../action-context.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { AuthenticationResponseJSON, PublicKeyCredentialCreationOptionsJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { InvalidOtpError, InvalidWebAuthnResponseError, NotFoundError, ValidationError } from '../errors.js';
import { SealedBox } from '../sealed-box.js';
import { randomToken } from '../secrets.js';
import type { User } from '../users/user.js';
import {
  toPublicFactor,
  type Factor,
  type FactorKind,
  type FactorStore,
  type PublicFactor,
  type SecondFactor,
  type SecondFactorMethod,
  type TotpFactor,
  type WebAuthnCredential,
} from './factor.js';
import { newRecoveryCode, normalizeRecoveryCode, RECOVERY_CODE_COUNT, recoveryCodeHash } from './recovery-codes.js';
import { matchTotp, newTotpSecret, totpUri } from './totp.js';
import type { WebAuthnCeremonies } from './webauthn.js';

/** An enrolment waits this long for its first code. */
export const PENDING_FACTOR_TTL_MS = 15 * 60_000;
/** Factors (pending ones included) a user may have. */
export const MAX_FACTORS_PER_USER = 10;
const MAX_NAME_LENGTH = 64;

export interface FactorServiceDependencies {
  readonly store: FactorStore;
  readonly secretKey: string;
  /** The `issuer` of otpauth:// URIs: what the authenticator app shows above the code. */
  readonly issuer: string;
  readonly clock: Clock;
  readonly audit: AuditLog;
  readonly webauthn: WebAuthnCeremonies;
}

/** A pending TOTP enrolment: the URI carries the secret, shown this once. */
export interface TotpEnrolment {
  readonly id: string;
  readonly otpauthUri: string;
}

/** A pending WebAuthn registration: the options to hand to navigator.credentials.create(). */
export interface WebAuthnEnrolment {
  readonly id: string;
  readonly options: PublicKeyCredentialCreationOptionsJSON;
}

/** A second-factor proof at login: a TOTP code, a recovery code, or a WebAuthn assertion. */
export type SecondFactorProof =
  { readonly otp: string } | { readonly recoveryCode: string } | { readonly webauthn: AuthenticationResponseJSON };

/** The `method` the audit log names for a proof. */
export function proofMethod(proof: SecondFactorProof): 'otp' | 'recovery_code' | 'webauthn' {
  return 'otp' in proof ? 'otp' : 'recoveryCode' in proof ? 'recovery_code' : 'webauthn';
}

export class FactorService {
  private readonly box: SealedBox;

  constructor(private readonly deps: FactorServiceDependencies) {
    this.box = new SealedBox(deps.secretKey, 'totp-secret/v1');
  }

  /** Whether the login of this user needs a second factor. */
  required(user: User): Promise<boolean> {
    return this.deps.store.hasConfirmed(user.id);
  }

  /** What the mfa_required answer offers this user. */
  async methods(user: User): Promise<SecondFactorMethod[]> {
    const kinds = new Set((await this.deps.store.listByUser(user.id)).filter((f) => f.confirmedAt !== null).map((f) => f.kind));
    const methods: SecondFactorMethod[] = [...kinds];
    if ((await this.deps.store.countRecoveryCodes(user.id)) > 0) methods.push('recovery_code');
    return methods;
  }

  /** A pending TOTP factor and its URI (the caller checked the current password). */
  async enrolTotp(user: User, name: string | undefined, context: ActionContext): Promise<TotpEnrolment> {
    const label = await this.newFactorName(user, name, 'Authenticator app');
    const id = randomToken(12);
    const secret = newTotpSecret();
    await this.deps.store.create({
      id,
      userId: user.id,
      kind: 'totp',
      name: label,
      secretSealed: this.box.seal(secret, id),
      createdAt: this.deps.clock.now(),
      confirmedAt: null,
      lastUsedAt: null,
      lastStep: null,
    });
    await this.auditEnrolmentStarted(user, id, 'totp', context);
    return { id, otpauthUri: totpUri(secret, this.deps.issuer, user.username) };
  }

  /**
   * Confirms a pending TOTP factor with a first code. The user's first confirmed factor comes with
   * recovery codes (returned this once); later ones with none (undefined).
   */
  async confirmTotp(user: User, id: string, code: string, context: ActionContext): Promise<{ recoveryCodes: string[] | undefined }> {
    const { store, clock } = this.deps;
    const now = clock.now();
    const factors = await store.listByUser(user.id);
    const factor = pendingFactor(factors, id, now);
    if (factor?.kind !== 'totp') throw new NotFoundError('No such pending factor');
    const step = matchTotp(this.secretOf(factor), code, now);
    if (step === undefined) throw new InvalidOtpError();
    if (!(await store.confirm(factor.id, step, now))) throw new NotFoundError('No such pending factor');
    return this.confirmed(user, factor, factors, context);
  }

  /** A pending WebAuthn factor and the options of its registration (the caller checked the current password). */
  async enrolWebAuthn(user: User, name: string | undefined, context: ActionContext): Promise<WebAuthnEnrolment> {
    const label = await this.newFactorName(user, name, 'Passkey');
    const id = randomToken(12);
    const options = await this.deps.webauthn.registrationOptions(user, credentialsOf(await this.deps.store.listByUser(user.id)));
    await this.deps.store.create({
      id,
      userId: user.id,
      kind: 'webauthn',
      name: label,
      createdAt: this.deps.clock.now(),
      confirmedAt: null,
      lastUsedAt: null,
      registrationChallenge: options.challenge,
      credential: null,
    });
    await this.auditEnrolmentStarted(user, id, 'webauthn', context);
    return { id, options };
  }

  /**
   * Confirms a pending WebAuthn factor with the authenticator's answer to its options
   * (InvalidWebAuthnResponseError when it does not verify). Recovery codes as for TOTP.
   */
  async confirmWebAuthn(
    user: User,
    id: string,
    response: RegistrationResponseJSON,
    context: ActionContext,
  ): Promise<{ recoveryCodes: string[] | undefined }> {
    const { store, clock } = this.deps;
    const factors = await store.listByUser(user.id);
    const factor = pendingFactor(factors, id, clock.now());
    if (factor?.kind !== 'webauthn' || factor.registrationChallenge === null) throw new NotFoundError('No such pending factor');
    const credential = await this.deps.webauthn.verifyRegistration(response, factor.registrationChallenge);
    if (await store.findByCredentialId(credential.credentialId)) {
      throw new InvalidWebAuthnResponseError('This authenticator is registered already');
    }
    if (!(await store.confirmWebAuthn(factor.id, credential, clock.now()))) throw new NotFoundError('No such pending factor');
    return this.confirmed(user, factor, factors, context);
  }

  /** The user's confirmed factors, as the user sees them (never a secret). */
  async list(user: User): Promise<PublicFactor[]> {
    return (await this.deps.store.listByUser(user.id)).filter((f) => f.confirmedAt !== null).map(toPublicFactor);
  }

  /** How many confirmed factors the user has. */
  async confirmedCount(user: User): Promise<number> {
    return (await this.deps.store.listByUser(user.id)).filter((f) => f.confirmedAt !== null).length;
  }

  /** Renames a confirmed factor of the user (NotFoundError when there is none; ValidationError for a refused name). */
  async rename(user: User, id: string, name: string, context: ActionContext): Promise<PublicFactor> {
    const label = checkFactorName(name);
    if (!(await this.deps.store.rename(user.id, id, label))) throw new NotFoundError('No such factor');
    const factor = (await this.deps.store.listByUser(user.id)).find((f) => f.id === id);
    if (!factor) throw new NotFoundError('No such factor');
    await this.auditFactorChange('factor.renamed', user, id, context);
    return toPublicFactor(factor);
  }

  /** Removes a factor of the user (pending or confirmed); the last confirmed one takes the recovery codes with it. */
  async remove(user: User, id: string, context: ActionContext): Promise<void> {
    if (!(await this.deps.store.remove(user.id, id))) throw new NotFoundError('No such factor');
    await this.auditFactorChange('factor.removed', user, id, context);
  }

  private async auditFactorChange(
    type: 'factor.renamed' | 'factor.removed',
    user: User,
    id: string,
    context: ActionContext,
  ): Promise<void> {
    await this.deps.audit.record({
      type,
      outcome: 'success',
      actor: context.actor ?? user.username,
      subject: user.username,
      ip: context.ip,
      details: { factor: id },
    });
  }

  /** New recovery codes replacing the old ones (the caller checked the current password); NotFoundError without a factor. */
  async regenerateRecoveryCodes(user: User, context: ActionContext): Promise<string[]> {
    if (!(await this.required(user))) throw new NotFoundError('No second factor: recovery codes come with the first one');
    const codes = await this.replaceRecoveryCodes(user);
    await this.deps.audit.record({
      type: 'recovery_codes.regenerated',
      outcome: 'success',
      actor: user.username,
      subject: user.username,
      ip: context.ip,
      details: {},
    });
    return codes;
  }

  /** How many unused recovery codes the user has. */
  recoveryCodesLeft(user: User): Promise<number> {
    return this.deps.store.countRecoveryCodes(user.id);
  }

  /** The options of a second step with the user's WebAuthn factors; undefined when the user has none. */
  async webauthnOptions(user: User) {
    const credentials = credentialsOf(await this.deps.store.listByUser(user.id));
    return credentials.length === 0 ? undefined : this.deps.webauthn.secondFactorOptions(credentials);
  }

  /**
   * Checks and uses a second-factor proof of the user: a TOTP code of any of their confirmed
   * factors not used before (its step later than the factor's last), an unused recovery code, or
   * an assertion of one of their WebAuthn factors to `webauthnChallenge` (the mfa_token's). The
   * `amr` value of the proof, or undefined for a wrong code; InvalidWebAuthnResponseError for an
   * assertion that does not verify.
   */
  async verify(user: User, proof: SecondFactorProof, webauthnChallenge: string | null): Promise<SecondFactor | undefined> {
    const { store, clock } = this.deps;
    const now = clock.now();
    if ('webauthn' in proof) {
      if (webauthnChallenge === null) throw new InvalidWebAuthnResponseError('This account had no WebAuthn factor when the login began');
      await this.deps.webauthn.verifySecondFactor(user, proof.webauthn, webauthnChallenge);
      return 'hwk';
    }
    if ('recoveryCode' in proof) {
      const code = normalizeRecoveryCode(proof.recoveryCode);
      return code !== undefined && (await store.useRecoveryCode(user.id, recoveryCodeHash(code), now)) ? 'otp' : undefined;
    }
    for (const factor of await store.listByUser(user.id)) {
      if (factor.confirmedAt === null || factor.kind !== 'totp') continue;
      const step = matchTotp(this.secretOf(factor), proof.otp, now);
      if (step !== undefined && (factor.lastStep === null || step > factor.lastStep) && (await store.useStep(factor.id, step, now))) {
        return 'otp';
      }
    }
    return undefined;
  }

  /** The name of a new factor, and room for it: ValidationError when the name is refused or the user has the most factors. */
  private async newFactorName(user: User, name: string | undefined, fallback: string): Promise<string> {
    const label = checkFactorName(name ?? fallback);
    // A pending factor that waited too long can never be confirmed: it does not count.
    const now = this.deps.clock.now();
    const live = (await this.deps.store.listByUser(user.id)).filter(
      (f) => f.confirmedAt !== null || now - f.createdAt <= PENDING_FACTOR_TTL_MS,
    );
    if (live.length >= MAX_FACTORS_PER_USER) {
      throw new ValidationError('factors', `At most ${MAX_FACTORS_PER_USER} factors; remove one first`);
    }
    return label;
  }

  private async auditEnrolmentStarted(user: User, id: string, kind: FactorKind, context: ActionContext): Promise<void> {
    await this.deps.audit.record({
      type: 'factor.enrolment_started',
      outcome: 'success',
      actor: user.username,
      subject: user.username,
      ip: context.ip,
      details: { factor: id, kind },
    });
  }

  /** After a factor was confirmed: the first one's recovery codes, and the audit event. */
  private async confirmed(
    user: User,
    factor: Factor,
    before: readonly Factor[],
    context: ActionContext,
  ): Promise<{ recoveryCodes: string[] | undefined }> {
    const hadFactor = before.some((f) => f.confirmedAt !== null);
    const recoveryCodes = hadFactor ? undefined : await this.replaceRecoveryCodes(user);
    await this.deps.audit.record({
      type: 'factor.added',
      outcome: 'success',
      actor: user.username,
      subject: user.username,
      ip: context.ip,
      details: { factor: factor.id, kind: factor.kind },
    });
    return { recoveryCodes };
  }

  private async replaceRecoveryCodes(user: User): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    const hashes = codes.map((code) => recoveryCodeHash(normalizeRecoveryCode(code)!));
    await this.deps.store.replaceRecoveryCodes(user.id, hashes, this.deps.clock.now());
    return codes;
  }

  private secretOf(factor: TotpFactor): string {
    const secret = this.box.open(factor.secretSealed, factor.id);
    if (secret === undefined) throw new Error(`The secret of factor ${factor.id} cannot be opened (SECRET_KEY changed?)`);
    return secret;
  }
}

/** A factor's name, trimmed: ValidationError unless 1 to MAX_NAME_LENGTH characters. */
function checkFactorName(name: string): string {
  const label = name.trim();
  if (label === '' || label.length > MAX_NAME_LENGTH) throw new ValidationError('name', `name must be 1 to ${MAX_NAME_LENGTH} characters`);
  return label;
}

/** A pending factor of the user with this id, within its time to be confirmed. */
function pendingFactor(factors: readonly Factor[], id: string, nowMs: number): Factor | undefined {
  return factors.find((f) => f.id === id && f.confirmedAt === null && nowMs - f.createdAt <= PENDING_FACTOR_TTL_MS);
}

/** The credentials of the user's confirmed WebAuthn factors. */
function credentialsOf(factors: readonly Factor[]): WebAuthnCredential[] {
  return factors.flatMap((f) => (f.kind === 'webauthn' && f.credential !== null ? [f.credential] : []));
}
