/** Signing keys over Kysely. */
import type { Selectable } from 'kysely';
import type { KeyState, PublicJwk, SigningKeyRecord } from '../../core/keys/signing-key.js';
import type { KeyStore } from '../../core/ports.js';
import type { AsymmetricAlgorithm } from '../../core/tokens/algorithms.js';
import type { SqlDialect } from './dialects/dialect.js';
import { guardDriverErrors } from './driver-errors.js';
import type { SigningKeysTable } from './schema.js';
import { fromIso, fromIsoOrNull, iso } from './sql-time.js';

export class SqlKeyStore implements KeyStore {
  constructor(private readonly dialect: SqlDialect) {}

  private get db() {
    return this.dialect.db;
  }

  async list(): Promise<SigningKeyRecord[]> {
    const rows = await guardDriverErrors(this.dialect, () =>
      this.db.selectFrom('signing_keys').selectAll().orderBy('created_at').execute(),
    );
    return rows.map(toRecord);
  }

  async insert(key: SigningKeyRecord): Promise<void> {
    await guardDriverErrors(this.dialect, () => this.db.insertInto('signing_keys').values(toRow(key)).execute());
  }

  async rotate(rotation: {
    readonly currentKid: string | null;
    readonly nextKid: string;
    readonly newNext: SigningKeyRecord;
    readonly nowMs: number;
  }): Promise<boolean> {
    const now = iso(rotation.nowMs);
    return guardDriverErrors(this.dialect, () =>
      this.db.transaction().execute(async (trx) => {
        const promoted = await trx
          .updateTable('signing_keys')
          .set({ state: 'current', activated_at: now })
          .where('kid', '=', rotation.nextKid)
          .where('state', '=', 'next')
          .executeTakeFirst();
        if (promoted.numUpdatedRows !== 1n) return false;
        if (rotation.currentKid !== null) {
          const retired = await trx
            .updateTable('signing_keys')
            .set({ state: 'retired', retired_at: now })
            .where('kid', '=', rotation.currentKid)
            .where('state', '=', 'current')
            .executeTakeFirst();
          // Someone else rotated in between: undo by failing the transaction.
          if (retired.numUpdatedRows !== 1n) throw new RotationRaceError();
        }
        await trx.insertInto('signing_keys').values(toRow(rotation.newNext)).execute();
        return true;
      }),
    ).catch((error: unknown) => {
      if (error instanceof RotationRaceError) return false;
      throw error;
    });
  }

  async retire(kid: string, fromState: KeyState, nowMs: number): Promise<boolean> {
    const result = await guardDriverErrors(this.dialect, () =>
      this.db
        .updateTable('signing_keys')
        .set({ state: 'retired', retired_at: iso(nowMs) })
        .where('kid', '=', kid)
        .where('state', '=', fromState)
        .executeTakeFirst(),
    );
    return result.numUpdatedRows > 0n;
  }

  async remove(kid: string): Promise<boolean> {
    const result = await guardDriverErrors(this.dialect, () =>
      this.db.deleteFrom('signing_keys').where('kid', '=', kid).executeTakeFirst(),
    );
    return result.numDeletedRows > 0n;
  }
}

class RotationRaceError extends Error {}

function toRow(key: SigningKeyRecord): SigningKeysTable {
  return {
    kid: key.kid,
    algorithm: key.algorithm,
    state: key.state,
    public_jwk: JSON.stringify(key.publicJwk),
    private_sealed: key.privateSealed,
    created_at: iso(key.createdAt),
    activated_at: key.activatedAt === null ? null : iso(key.activatedAt),
    retired_at: key.retiredAt === null ? null : iso(key.retiredAt),
  };
}

function toRecord(row: Selectable<SigningKeysTable>): SigningKeyRecord {
  return {
    kid: row.kid,
    algorithm: row.algorithm as AsymmetricAlgorithm,
    state: row.state as KeyState,
    publicJwk: JSON.parse(row.public_jwk) as PublicJwk,
    privateSealed: row.private_sealed,
    createdAt: fromIso(row.created_at),
    activatedAt: fromIsoOrNull(row.activated_at),
    retiredAt: fromIsoOrNull(row.retired_at),
  };
}
