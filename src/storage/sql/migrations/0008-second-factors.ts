import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes } from '../dialects/dialect.js';

/**
 * Second factors (issue 15, ADR 0024).
 * - `auth_factors`: a user's factors, by `kind` (`totp` now; WebAuthn later adds its own columns or
 *   a JSON `data`); the TOTP secret sealed at rest (SealedBox), `last_step` the last time step a
 *   code was accepted for (a replay is refused); pending until `confirmed_at`.
 * - `recovery_codes`: the SHA-256 of each single-use code, never the code.
 * - `mfa_challenges`: the state behind an `mfa_token` (its SHA-256 is the key): the user, the token
 *   version and first factor it is bound to, the attempts spent, when it was used.
 * - `sessions.amr`, `acr`, `auth_time`: how the login was proved, kept for refreshes.
 * Deleting a user deletes its rows.
 */
export const secondFactors = ({ text }: ColumnTypes): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('auth_factors')
      .addColumn('id', text, (col) => col.primaryKey())
      .addColumn('user_id', text, (col) => col.notNull().references('users.id').onDelete('cascade'))
      .addColumn('kind', text, (col) => col.notNull())
      .addColumn('name', text, (col) => col.notNull())
      .addColumn('secret_sealed', text, (col) => col.notNull())
      .addColumn('created_at', text, (col) => col.notNull())
      .addColumn('confirmed_at', text)
      .addColumn('last_used_at', text)
      .addColumn('last_step', 'integer')
      .execute();
    await db.schema.createIndex('auth_factors_user').on('auth_factors').column('user_id').execute();

    await db.schema
      .createTable('recovery_codes')
      .addColumn('id', text, (col) => col.primaryKey())
      .addColumn('user_id', text, (col) => col.notNull().references('users.id').onDelete('cascade'))
      .addColumn('code_hash', text, (col) => col.notNull().unique())
      .addColumn('created_at', text, (col) => col.notNull())
      .addColumn('used_at', text)
      .execute();
    await db.schema.createIndex('recovery_codes_user').on('recovery_codes').column('user_id').execute();

    await db.schema
      .createTable('mfa_challenges')
      .addColumn('token_hash', text, (col) => col.primaryKey())
      .addColumn('user_id', text, (col) => col.notNull().references('users.id').onDelete('cascade'))
      .addColumn('token_version', 'integer', (col) => col.notNull())
      .addColumn('first_factor', text, (col) => col.notNull())
      .addColumn('scope', text, (col) => col.notNull())
      .addColumn('client_id', text)
      .addColumn('guard_ticket', text)
      .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
      .addColumn('created_at', text, (col) => col.notNull())
      .addColumn('expires_at', text, (col) => col.notNull())
      .addColumn('used_at', text)
      .execute();
    await db.schema.createIndex('mfa_challenges_expires').on('mfa_challenges').column('expires_at').execute();

    await db.schema.alterTable('sessions').addColumn('amr', text).execute();
    await db.schema.alterTable('sessions').addColumn('acr', text).execute();
    await db.schema.alterTable('sessions').addColumn('auth_time', text).execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('sessions').dropColumn('auth_time').execute();
    await db.schema.alterTable('sessions').dropColumn('acr').execute();
    await db.schema.alterTable('sessions').dropColumn('amr').execute();
    await db.schema.dropTable('mfa_challenges').execute();
    await db.schema.dropTable('recovery_codes').execute();
    await db.schema.dropTable('auth_factors').execute();
  },
});
