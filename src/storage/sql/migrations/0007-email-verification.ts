import { sql, type Kysely, type Migration } from 'kysely';
import type { ColumnTypes } from '../dialects/dialect.js';

/**
 * E-mail verification and login by e-mail (issue 14).
 * - `users.email_key` (the address lower-cased, emailKey) with an index, for look-ups by address;
 *   `users.email_verified` (0 or 1); a verified address is unique among verified addresses.
 * - `password_reset_tokens` becomes `mail_tokens`: every token sent by mail (a password reset, an
 *   address to verify, a sign-in link), with its `purpose` and the address it went to. Unused reset
 *   tokens are carried over, so an upgrade does not void the links already in people's mailboxes.
 */
export const emailVerification = ({ text }: ColumnTypes): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('users').addColumn('email_key', text).execute();
    await db.schema
      .alterTable('users')
      .addColumn('email_verified', 'integer', (col) => col.notNull().defaultTo(0))
      .execute();
    // Addresses are ASCII (the e-mail rule), so lower() is the same function on every database.
    await sql`update users set email_key = lower(trim(email)) where email is not null`.execute(db);
    await db.schema.createIndex('users_email_key').on('users').column('email_key').execute();
    await db.schema
      .createIndex('users_verified_email_key')
      .on('users')
      .column('email_key')
      .unique()
      .where(sql.ref('email_verified'), '=', 1)
      .execute();

    await db.schema
      .createTable('mail_tokens')
      .addColumn('id', text, (col) => col.primaryKey())
      .addColumn('user_id', text, (col) => col.notNull().references('users.id').onDelete('cascade'))
      .addColumn('purpose', text, (col) => col.notNull())
      .addColumn('email', text, (col) => col.notNull())
      .addColumn('token_hash', text, (col) => col.notNull().unique())
      .addColumn('created_at', text, (col) => col.notNull())
      .addColumn('expires_at', text, (col) => col.notNull())
      .addColumn('used_at', text)
      .execute();
    // Voiding a user's other tokens of one purpose; pruning by expiry.
    await db.schema.createIndex('mail_tokens_user').on('mail_tokens').columns(['user_id', 'purpose']).execute();
    await db.schema.createIndex('mail_tokens_expires').on('mail_tokens').column('expires_at').execute();
    await sql`
      insert into mail_tokens (id, user_id, purpose, email, token_hash, created_at, expires_at, used_at)
      select t.id, t.user_id, 'password_reset', coalesce(u.email, ''), t.token_hash, t.created_at, t.expires_at, t.used_at
      from password_reset_tokens t join users u on u.id = t.user_id
    `.execute(db);
    await db.schema.dropTable('password_reset_tokens').execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('password_reset_tokens')
      .addColumn('id', text, (col) => col.primaryKey())
      .addColumn('user_id', text, (col) => col.notNull().references('users.id').onDelete('cascade'))
      .addColumn('token_hash', text, (col) => col.notNull().unique())
      .addColumn('created_at', text, (col) => col.notNull())
      .addColumn('expires_at', text, (col) => col.notNull())
      .addColumn('used_at', text)
      .execute();
    await db.schema.createIndex('password_reset_tokens_user').on('password_reset_tokens').column('user_id').execute();
    await sql`
      insert into password_reset_tokens (id, user_id, token_hash, created_at, expires_at, used_at)
      select id, user_id, token_hash, created_at, expires_at, used_at from mail_tokens where purpose = 'password_reset'
    `.execute(db);
    await db.schema.dropTable('mail_tokens').execute();
    await db.schema.dropIndex('users_verified_email_key').execute();
    await db.schema.dropIndex('users_email_key').execute();
    await db.schema.alterTable('users').dropColumn('email_verified').execute();
    await db.schema.alterTable('users').dropColumn('email_key').execute();
  },
});
