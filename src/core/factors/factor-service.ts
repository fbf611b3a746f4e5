/**
 * A user's second factors (issue 15, ADR 0024): TOTP enrolment (pending until a first code
 * confirms it), the list, removal, recovery codes, and the check of a code at login. TOTP secrets
 * are sealed at rest (SealedBox, their own key, bound to the factor's row); a code is accepted once:
 * the store records its time step and refuses that step again.
 */
import type { ActionContext } from '../action-context.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import { InvalidOtpError, NotFoundError, ValidationError } from '../errors.js';
import { SealedBox } from '../sealed-box.js';
import { randomToken } from '../secrets.js';
import type { User } from '../users/user.js';
import { toPublicFactor, type Factor, type FactorStore, type PublicFactor, type SecondFactorMethod } from './factor.js';
import { newRecoveryCode, normalizeRecoveryCode, RECOVERY_CODE_COUNT, recoveryCodeHash } from './recovery-codes.js';
import { matchTotp, newTotpSecret, totpUri } from './totp.js';

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
}

/** A pending TOTP enrolment: the URI carries the secret, shown this once. */
export interface TotpEnrolment {
  readonly id: string;
  readonly otpauthUri: string;
}

/** A second-factor proof at login: a TOTP code or a recovery code. */
export type SecondFactorProof = { readonly otp: string } | { readonly recoveryCode: string };

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
    const { store, clock } = this.deps;
    const label = (name ?? 'Authenticator app').trim();
    if (label === '' || label.length > MAX_NAME_LENGTH)
      throw new ValidationError('name', `name must be 1 to ${MAX_NAME_LENGTH} characters`);
    // A pending factor that waited too long can never be confirmed: it does not count.
    const live = (await store.listByUser(user.id)).filter(
      (f) => f.confirmedAt !== null || clock.now() - f.createdAt <= PENDING_FACTOR_TTL_MS,
    );
    if (live.length >= MAX_FACTORS_PER_USER) {
      throw new ValidationError('factors', `At most ${MAX_FACTORS_PER_USER} factors; remove one first`);
    }
    const id = randomToken(12);
    const secret = newTotpSecret();
    const factor: Factor = {
      id,
      userId: user.id,
      kind: 'totp',
      name: label,
      secretSealed: this.box.seal(secret, id),
      createdAt: clock.now(),
      confirmedAt: null,
      lastUsedAt: null,
      lastStep: null,
    };
    await store.create(factor);
    await this.deps.audit.record({
      type: 'factor.enrolment_started',
      outcome: 'success',
      actor: user.username,
      subject: user.username,
      ip: context.ip,
      details: { factor: id, kind: 'totp' },
    });
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
    const factor = factors.find((f) => f.id === id && f.confirmedAt === null && now - f.createdAt <= PENDING_FACTOR_TTL_MS);
    if (!factor) throw new NotFoundError('No such pending factor');
    const step = matchTotp(this.secretOf(factor), code, now);
    if (step === undefined) throw new InvalidOtpError();
    const hadFactor = factors.some((f) => f.confirmedAt !== null);
    if (!(await store.confirm(factor.id, step, now))) throw new NotFoundError('No such pending factor');
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

  /** The user's confirmed factors, as the user sees them (never a secret). */
  async list(user: User): Promise<PublicFactor[]> {
    return (await this.deps.store.listByUser(user.id)).filter((f) => f.confirmedAt !== null).map(toPublicFactor);
  }

  /** How many confirmed factors the user has. */
  async confirmedCount(user: User): Promise<number> {
    return (await this.deps.store.listByUser(user.id)).filter((f) => f.confirmedAt !== null).length;
  }

  /** Removes a factor of the user (pending or confirmed); the last confirmed one takes the recovery codes with it. */
  async remove(user: User, id: string, context: ActionContext): Promise<void> {
    if (!(await this.deps.store.remove(user.id, id))) throw new NotFoundError('No such factor');
    await this.deps.audit.record({
      type: 'factor.removed',
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

  /**
   * Checks and uses a second-factor proof of the user: a TOTP code of any of their confirmed
   * factors not used before (its step later than the factor's last), or an unused recovery code.
   */
  async verify(user: User, proof: SecondFactorProof): Promise<boolean> {
    const { store, clock } = this.deps;
    const now = clock.now();
    if ('recoveryCode' in proof) {
      const code = normalizeRecoveryCode(proof.recoveryCode);
      return code !== undefined && store.useRecoveryCode(user.id, recoveryCodeHash(code), now);
    }
    for (const factor of await store.listByUser(user.id)) {
      if (factor.confirmedAt === null || factor.kind !== 'totp') continue;
      const step = matchTotp(this.secretOf(factor), proof.otp, now);
      if (step !== undefined && (factor.lastStep === null || step > factor.lastStep) && (await store.useStep(factor.id, step, now))) {
        return true;
      }
    }
    return false;
  }

  private async replaceRecoveryCodes(user: User): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    const hashes = codes.map((code) => recoveryCodeHash(normalizeRecoveryCode(code)!));
    await this.deps.store.replaceRecoveryCodes(user.id, hashes, this.deps.clock.now());
    return codes;
  }

  private secretOf(factor: Factor): string {
    const secret = this.box.open(factor.secretSealed, factor.id);
    if (secret === undefined) throw new Error(`The secret of factor ${factor.id} cannot be opened (SECRET_KEY changed?)`);
    return secret;
  }
}
