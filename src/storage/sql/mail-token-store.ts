/**
 * Tokens sent by mail over Kysely, for every SQL dialect (issue 14): password resets, addresses to
 * verify, sign-in links. `issue` writes the token's row and the mail that carries it
 * (insertOutboxMessage) in one transaction, so neither exists without the other (ADR 0022), and
 * voids the user's earlier tokens of the purpose in it too when asked (a new verification mail). Only
 * the token's SHA-256 is stored.
 */
import type { Selectable, Transaction } from 'kysely';
import type { OutboxMessage } from '../../core/outbox/outbox-message.js';
import type { EmailChange, MailTokenIssueOptions, MailTokenPurpose, MailTokenRecord, MailTokenStore } from '../../core/ports.js';
import { emailKey } from '../../core/users/user-fields.js';
import type { SqlDialect } from './dialects/dialect.js';
import { guardDriverErrors } from './driver-errors.js';
import { insertOutboxMessage } from './outbox-store.js';
import type { Database, MailTokensTable } from './schema.js';
import { fromIso, fromIsoOrNull, iso } from './sql-time.js';

const PURPOSES: ReadonlySet<string> = new Set<MailTokenPurpose>(['password_reset', 'email_verification', 'sign_in']);

export class SqlMailTokenStore implements MailTokenStore {
  constructor(private readonly dialect: SqlDialect) {}

  private get db() {
    return this.dialect.db;
  }

  private guard<T>(operation: () => Promise<T>): Promise<T> {
    return guardDriverErrors(this.dialect, operation);
  }

  async issue(record: MailTokenRecord, mail: OutboxMessage, options: MailTokenIssueOptions = {}): Promise<void> {
    await this.guard(() =>
      this.db.transaction().execute(async (trx) => {
        if (options.voidEarlier === true) {
          await trx
            .updateTable('mail_tokens')
            .set({ used_at: iso(record.createdAt) })
            .where('user_id', '=', record.userId)
            .where('purpose', '=', record.purpose)
            .where('used_at', 'is', null)
            .execute();
        }
        await trx
          .insertInto('mail_tokens')
          .values({
            id: record.id,
            user_id: record.userId,
            purpose: record.purpose,
            email: record.email,
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

  async find(tokenHash: string): Promise<MailTokenRecord | undefined> {
    const row = await this.guard(() =>
      this.db.selectFrom('mail_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst(),
    );
    return row && toRecord(row);
  }

  async consume(tokenHash: string, purpose: MailTokenPurpose, nowMs: number): Promise<MailTokenRecord | undefined> {
    return this.guard(() => this.db.transaction().execute((trx) => consumeIn(trx, tokenHash, purpose, iso(nowMs))));
  }

  async verifyEmail(
    tokenHash: string,
    nowMs: number,
    notice: (change: EmailChange) => OutboxMessage | undefined,
  ): Promise<EmailChange | undefined> {
    const now = iso(nowMs);
    // 'verified_email': the partial unique index refuses a second account verifying the address; the
    // whole transaction is then undone, the token's use with it.
    return guardDriverErrors(
      this.dialect,
      () =>
        this.db.transaction().execute(async (trx) => {
          const used = await consumeIn(trx, tokenHash, 'email_verification', now);
          if (!used) return undefined;
          const user = await trx.selectFrom('users').select(['email']).where('id', '=', used.userId).executeTakeFirst();
          if (!user) return undefined;
          await trx
            .updateTable('users')
            .set({ email: used.email, email_key: emailKey(used.email), email_verified: 1, updated_at: now })
            .where('id', '=', used.userId)
            .execute();
          const change: EmailChange = {
            token: used,
            previousEmail: user.email,
            sameAddress: user.email !== null && emailKey(user.email) === emailKey(used.email),
          };
          if (!change.sameAddress) {
            // Every reset token and sign-in link still unused went to the old address: it is no longer the account's.
            await trx
              .updateTable('mail_tokens')
              .set({ used_at: now })
              .where('user_id', '=', used.userId)
              .where('purpose', 'in', ['password_reset', 'sign_in'])
              .where('used_at', 'is', null)
              .execute();
          }
          const mail = notice(change);
          if (mail) await insertOutboxMessage(trx, mail);
          return change;
        }),
      'verified_email',
    );
  }

  async invalidateAll(userId: string, purpose: MailTokenPurpose, nowMs: number): Promise<number> {
    const result = await this.guard(() =>
      this.db
        .updateTable('mail_tokens')
        .set({ used_at: iso(nowMs) })
        .where('user_id', '=', userId)
        .where('purpose', '=', purpose)
        .where('used_at', 'is', null)
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows);
  }

  async prune(beforeMs: number, limit: number): Promise<number> {
    const before = iso(beforeMs);
    const result = await this.guard(() =>
      this.db
        .deleteFrom('mail_tokens')
        .where(
          'id',
          'in',
          this.db
            .selectFrom('mail_tokens')
            .select('id')
            .where((eb) => eb.or([eb('expires_at', '<', before), eb('used_at', '<', before)]))
            .limit(limit),
        )
        .executeTakeFirst(),
    );
    return Number(result.numDeletedRows);
  }
}

/** Uses the token and voids its user's other unused tokens of the purpose; the WHERE decides: of two concurrent uses, the second finds used_at set. */
async function consumeIn(
  trx: Transaction<Database>,
  tokenHash: string,
  purpose: MailTokenPurpose,
  now: string,
): Promise<MailTokenRecord | undefined> {
  const used = await trx
    .updateTable('mail_tokens')
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returningAll()
    .executeTakeFirst();
  if (!used) return undefined;
  await trx
    .updateTable('mail_tokens')
    .set({ used_at: now })
    .where('user_id', '=', used.user_id)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .execute();
  return toRecord(used);
}

function toRecord(row: Selectable<MailTokensTable>): MailTokenRecord {
  if (!PURPOSES.has(row.purpose)) throw new Error(`mail_tokens row ${row.id} has an unknown purpose ${row.purpose}`);
  return {
    id: row.id,
    userId: row.user_id,
    purpose: row.purpose as MailTokenPurpose,
    email: row.email,
    tokenHash: row.token_hash,
    createdAt: fromIso(row.created_at),
    expiresAt: fromIso(row.expires_at),
    usedAt: fromIsoOrNull(row.used_at),
  };
}
