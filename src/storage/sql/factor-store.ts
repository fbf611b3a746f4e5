/**
 * Second factors over Kysely, for every SQL dialect (issue 15, ADR 0024): the factors (secrets
 * sealed by core before they get here), the recovery codes' SHA-256 and the state behind each
 * mfa_token. Every single-use rule is decided by an UPDATE's WHERE, so two instances racing on one
 * code, step or token get one success between them.
 */
import type { Selectable } from 'kysely';
import type { Factor, FactorStore, FirstFactor, MfaChallenge, WebAuthnCredential, WebAuthnFactor } from '../../core/factors/factor.js';
import { randomToken } from '../../core/secrets.js';
import type { SqlDialect } from './dialects/dialect.js';
import { guardDriverErrors } from './driver-errors.js';
import type { AuthFactorsTable, MfaChallengesTable } from './schema.js';
import { fromIso, fromIsoOrNull, iso } from './sql-time.js';

const FIRST_FACTORS: ReadonlySet<string> = new Set<FirstFactor>(['pwd', 'link']);
const DEVICE_TYPES: ReadonlySet<string> = new Set<WebAuthnCredential['deviceType']>(['singleDevice', 'multiDevice']);

export class SqlFactorStore implements FactorStore {
  constructor(private readonly dialect: SqlDialect) {}

  private get db() {
    return this.dialect.db;
  }

  private guard<T>(operation: () => Promise<T>): Promise<T> {
    return guardDriverErrors(this.dialect, operation);
  }

  async create(factor: Factor): Promise<void> {
    await this.guard(() =>
      this.db
        .insertInto('auth_factors')
        .values({
          id: factor.id,
          user_id: factor.userId,
          kind: factor.kind,
          name: factor.name,
          created_at: iso(factor.createdAt),
          confirmed_at: factor.confirmedAt === null ? null : iso(factor.confirmedAt),
          last_used_at: factor.lastUsedAt === null ? null : iso(factor.lastUsedAt),
          ...(factor.kind === 'totp'
            ? { secret_sealed: factor.secretSealed, last_step: factor.lastStep }
            : { secret_sealed: '', webauthn_challenge: factor.registrationChallenge, ...credentialColumns(factor.credential) }),
        })
        .execute(),
    );
  }

  async listByUser(userId: string): Promise<Factor[]> {
    const rows = await this.guard(() =>
      this.db.selectFrom('auth_factors').selectAll().where('user_id', '=', userId).orderBy('created_at').orderBy('id').execute(),
    );
    return rows.map(toFactor);
  }

  async hasConfirmed(userId: string): Promise<boolean> {
    const row = await this.guard(() =>
      this.db
        .selectFrom('auth_factors')
        .select('id')
        .where('user_id', '=', userId)
        .where('confirmed_at', 'is not', null)
        .limit(1)
        .executeTakeFirst(),
    );
    return row !== undefined;
  }

  async confirm(id: string, step: number, nowMs: number): Promise<boolean> {
    const result = await this.guard(() =>
      this.db
        .updateTable('auth_factors')
        .set({ confirmed_at: iso(nowMs), last_used_at: iso(nowMs), last_step: step })
        .where('id', '=', id)
        .where('confirmed_at', 'is', null)
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) === 1;
  }

  async confirmWebAuthn(id: string, credential: WebAuthnCredential, nowMs: number): Promise<boolean> {
    const result = await this.guard(() =>
      this.db
        .updateTable('auth_factors')
        .set({ confirmed_at: iso(nowMs), last_used_at: iso(nowMs), webauthn_challenge: null, ...credentialColumns(credential) })
        .where('id', '=', id)
        .where('kind', '=', 'webauthn')
        .where('confirmed_at', 'is', null)
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) === 1;
  }

  async findByCredentialId(credentialId: string): Promise<(WebAuthnFactor & { readonly credential: WebAuthnCredential }) | undefined> {
    const row = await this.guard(() =>
      this.db
        .selectFrom('auth_factors')
        .selectAll()
        .where('credential_id', '=', credentialId)
        .where('confirmed_at', 'is not', null)
        .executeTakeFirst(),
    );
    if (!row) return undefined;
    const factor = toFactor(row);
    return factor.kind === 'webauthn' && factor.credential !== null ? factor : undefined;
  }

  async useCredential(id: string, previousCount: number, newCount: number, backedUp: boolean, nowMs: number): Promise<boolean> {
    const result = await this.guard(() =>
      this.db
        .updateTable('auth_factors')
        .set({ sign_count: newCount, backed_up: backedUp ? 1 : 0, last_used_at: iso(nowMs) })
        .where('id', '=', id)
        .where('confirmed_at', 'is not', null)
        .where('sign_count', '=', previousCount)
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) === 1;
  }

  async createLoginChallenge(challengeHash: string, nowMs: number, expiresAtMs: number): Promise<void> {
    await this.guard(async () => {
      await this.db.deleteFrom('webauthn_login_challenges').where('expires_at', '<', iso(nowMs)).execute();
      await this.db
        .insertInto('webauthn_login_challenges')
        .values({ challenge_hash: challengeHash, created_at: iso(nowMs), expires_at: iso(expiresAtMs), used_at: null })
        .execute();
    });
  }

  async useLoginChallenge(challengeHash: string, nowMs: number): Promise<boolean> {
    const result = await this.guard(() =>
      this.db
        .updateTable('webauthn_login_challenges')
        .set({ used_at: iso(nowMs) })
        .where('challenge_hash', '=', challengeHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', iso(nowMs))
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) === 1;
  }

  async useStep(id: string, step: number, nowMs: number): Promise<boolean> {
    const result = await this.guard(() =>
      this.db
        .updateTable('auth_factors')
        .set({ last_used_at: iso(nowMs), last_step: step })
        .where('id', '=', id)
        .where('confirmed_at', 'is not', null)
        .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)]))
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) === 1;
  }

  async rename(userId: string, id: string, name: string): Promise<boolean> {
    const result = await this.guard(() =>
      this.db
        .updateTable('auth_factors')
        .set({ name })
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .where('confirmed_at', 'is not', null)
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) === 1;
  }

  async remove(userId: string, id: string): Promise<boolean> {
    return this.guard(() =>
      this.db.transaction().execute(async (trx) => {
        const result = await trx.deleteFrom('auth_factors').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
        if (Number(result.numDeletedRows) !== 1) return false;
        const left = await trx
          .selectFrom('auth_factors')
          .select('id')
          .where('user_id', '=', userId)
          .where('confirmed_at', 'is not', null)
          .limit(1)
          .executeTakeFirst();
        if (!left) await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
        return true;
      }),
    );
  }

  async removeAll(userId: string): Promise<number> {
    return this.guard(() =>
      this.db.transaction().execute(async (trx) => {
        const result = await trx.deleteFrom('auth_factors').where('user_id', '=', userId).executeTakeFirst();
        await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
        return Number(result.numDeletedRows);
      }),
    );
  }

  async replaceRecoveryCodes(userId: string, codeHashes: readonly string[], nowMs: number): Promise<void> {
    await this.guard(() =>
      this.db.transaction().execute(async (trx) => {
        await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
        if (codeHashes.length === 0) return;
        await trx
          .insertInto('recovery_codes')
          .values(
            codeHashes.map((hash) => ({ id: randomToken(16), user_id: userId, code_hash: hash, created_at: iso(nowMs), used_at: null })),
          )
          .execute();
      }),
    );
  }

  async useRecoveryCode(userId: string, codeHash: string, nowMs: number): Promise<boolean> {
    const result = await this.guard(() =>
      this.db
        .updateTable('recovery_codes')
        .set({ used_at: iso(nowMs) })
        .where('user_id', '=', userId)
        .where('code_hash', '=', codeHash)
        .where('used_at', 'is', null)
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) === 1;
  }

  async countRecoveryCodes(userId: string): Promise<number> {
    const row = await this.guard(() =>
      this.db
        .selectFrom('recovery_codes')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .executeTakeFirst(),
    );
    return Number(row?.n ?? 0);
  }

  async createChallenge(challenge: MfaChallenge): Promise<void> {
    await this.guard(() =>
      this.db
        .insertInto('mfa_challenges')
        .values({
          token_hash: challenge.tokenHash,
          user_id: challenge.userId,
          token_version: challenge.tokenVersion,
          first_factor: challenge.firstFactor,
          scope: challenge.scopes.join(' '),
          client_id: challenge.clientId,
          guard_ticket: challenge.guardTicket,
          webauthn_challenge: challenge.webauthnChallenge,
          attempts: challenge.attempts,
          created_at: iso(challenge.createdAt),
          expires_at: iso(challenge.expiresAt),
          used_at: challenge.usedAt === null ? null : iso(challenge.usedAt),
          enrolment_factor_id: challenge.enrolmentFactorId,
        })
        .execute(),
    );
  }

  async spendAttempt(tokenHash: string, nowMs: number, maxAttempts: number): Promise<MfaChallenge | undefined> {
    const row = await this.guard(() =>
      this.db
        .updateTable('mfa_challenges')
        .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', iso(nowMs))
        .where('attempts', '<', maxAttempts)
        .returningAll()
        .executeTakeFirst(),
    );
    return row && toChallenge(row);
  }

  async useChallenge(tokenHash: string, nowMs: number): Promise<boolean> {
    const result = await this.guard(() =>
      this.db
        .updateTable('mfa_challenges')
        .set({ used_at: iso(nowMs) })
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) === 1;
  }

  async setEnrolment(tokenHash: string, factorId: string, nowMs: number): Promise<boolean> {
    const result = await this.guard(() =>
      this.db
        .updateTable('mfa_challenges')
        .set({ enrolment_factor_id: factorId })
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', iso(nowMs))
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) === 1;
  }
}

function credentialColumns(credential: WebAuthnCredential | null) {
  return credential === null
    ? {}
    : {
        credential_id: credential.credentialId,
        public_key: credential.publicKey,
        sign_count: credential.signCount,
        transports: credential.transports.join(' '),
        device_type: credential.deviceType,
        backed_up: credential.backedUp ? 1 : 0,
      };
}

function toFactor(row: Selectable<AuthFactorsTable>): Factor {
  const common = {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    createdAt: fromIso(row.created_at),
    confirmedAt: fromIsoOrNull(row.confirmed_at),
    lastUsedAt: fromIsoOrNull(row.last_used_at),
  };
  switch (row.kind) {
    case 'totp':
      return { ...common, kind: 'totp', secretSealed: row.secret_sealed, lastStep: row.last_step === null ? null : Number(row.last_step) };
    case 'webauthn':
      if (row.webauthn_challenge !== null)
        return { ...common, kind: 'webauthn', registrationChallenge: row.webauthn_challenge, credential: null };
      return { ...common, kind: 'webauthn', registrationChallenge: null, credential: toCredential(row) };
    default:
      throw new Error(`auth_factors row ${row.id} has an unknown kind ${row.kind}`);
  }
}

function toCredential(row: Selectable<AuthFactorsTable>): WebAuthnCredential {
  const { credential_id: credentialId, public_key: publicKey, sign_count: signCount, device_type: deviceType } = row;
  if (credentialId === null || publicKey === null || signCount === null || deviceType === null || !DEVICE_TYPES.has(deviceType)) {
    throw new Error(`auth_factors row ${row.id} is a WebAuthn factor without a whole credential`);
  }
  return {
    credentialId,
    publicKey,
    signCount: Number(signCount),
    transports: row.transports === null || row.transports === '' ? [] : row.transports.split(' '),
    deviceType: deviceType as WebAuthnCredential['deviceType'],
    backedUp: row.backed_up === 1,
  };
}

function toChallenge(row: Selectable<MfaChallengesTable>): MfaChallenge {
  if (!FIRST_FACTORS.has(row.first_factor)) throw new Error('mfa_challenges row has an unknown first factor');
  return {
    tokenHash: row.token_hash,
    userId: row.user_id,
    tokenVersion: Number(row.token_version),
    firstFactor: row.first_factor as FirstFactor,
    webauthnChallenge: row.webauthn_challenge,
    scopes: row.scope === '' ? [] : row.scope.split(' '),
    clientId: row.client_id,
    guardTicket: row.guard_ticket,
    attempts: Number(row.attempts),
    createdAt: fromIso(row.created_at),
    expiresAt: fromIso(row.expires_at),
    usedAt: fromIsoOrNull(row.used_at),
    enrolmentFactorId: row.enrolment_factor_id,
  };
}
