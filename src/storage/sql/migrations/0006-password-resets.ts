import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes } from '../dialects/dialect.js';

/**
 * Password reset tokens (issue 14): only the SHA-256 of each token is stored; a token is single use
 * (`used_at`) and expires. Deleting a user deletes its tokens.
 */
export const passwordResets = ({ text }: ColumnTypes): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('password_reset_tokens')
      .addColumn('id', text, (col) => col.primaryKey())
      .addColumn('user_id', text, (col) => col.notNull().references('users.id').onDelete('cascade'))
      .addColumn('token_hash', text, (col) => col.notNull().unique())
      .addColumn('created_at', text, (col) => col.notNull())
      .addColumn('expires_at', text, (col) => col.notNull())
      .addColumn('used_at', text)
      .execute();
    // Invalidating every other token of a user.
    await db.schema.createIndex('password_reset_tokens_user').on('password_reset_tokens').column('user_id').execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('password_reset_tokens').execute();
  },
});
