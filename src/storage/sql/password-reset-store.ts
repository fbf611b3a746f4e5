/**
 * Password reset tokens over Kysely, for every SQL dialect (issue 14). `issue` writes the token's
 * row and the mail that carries it (insertOutboxMessage) in one transaction, so neither exists
 * without the other (ADR 0022). Only the token's SHA-256 is stored.
 */
import type { Selectable } from 'kysely';
import type { OutboxMessage } from '../../core/outbox/outbox-message.js';
import type { PasswordResetRecord, PasswordResetStore } from '../../core/ports.js';
import type { SqlDialect } from './dialects/dialect.js';
import { guardDriverErrors } from './driver-errors.js';
import { insertOutboxMessage } from './outbox-store.js';
import type { PasswordResetTokensTable } from './schema.js';
import { fromIso, fromIsoOrNull, iso } from './sql-time.js';

export class SqlPasswordResetStore implements PasswordResetStore {
  constructor(private readonly dialect: SqlDialect) {}

  private get db() {
    return this.dialect.db;
  }

  private guard<T>(operation: () => Promise<T>): Promise<T> {
    return guardDriverErrors(this.dialect, operation);
  }

  async issue(record: PasswordResetRecord, mail: OutboxMessage): Promise<void> {
    await this.guard(() =>
      this.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('password_reset_tokens')
          .values({
            id: record.id,
            user_id: record.userId,
            token_hash: record.tokenHash,
            created_at: iso(record.createdAt),
            expires_at: iso(record.expiresAt),
            used_at: record.usedAt === null ? null : iso(record.usedAt),
          })
          .execute();
        await insertOutboxMessage(trx, mail);
      }),
    );
  }

  async find(tokenHash: string): Promise<PasswordResetRecord | undefined> {
    const row = await this.guard(() =>
      this.db.selectFrom('password_reset_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst(),
    );
    return row && toRecord(row);
  }

  async consume(tokenHash: string, nowMs: number): Promise<boolean> {
    const now = iso(nowMs);
    return this.guard(() =>
      this.db.transaction().execute(async (trx) => {
        // The WHERE decides: of two concurrent uses, the second finds used_at set.
        const used = await trx
          .updateTable('password_reset_tokens')
          .set({ used_at: now })
          .where('token_hash', '=', tokenHash)
          .where('used_at', 'is', null)
          .where('expires_at', '>', now)
          .returning('user_id')
          .executeTakeFirst();
        if (!used) return false;
        await trx
          .updateTable('password_reset_tokens')
          .set({ used_at: now })
          .where('user_id', '=', used.user_id)
          .where('used_at', 'is', null)
          .execute();
        return true;
      }),
    );
  }

  async invalidateAll(userId: string, nowMs: number): Promise<number> {
    const result = await this.guard(() =>
      this.db
        .updateTable('password_reset_tokens')
        .set({ used_at: iso(nowMs) })
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows);
  }
}

function toRecord(row: Selectable<PasswordResetTokensTable>): PasswordResetRecord {
  return {
    id: row.id,
    userId: row.user_id,
    tokenHash: row.token_hash,
    createdAt: fromIso(row.created_at),
    expiresAt: fromIso(row.expires_at),
    usedAt: fromIsoOrNull(row.used_at),
  };
}
