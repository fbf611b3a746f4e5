import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes } from '../dialects/dialect.js';

/** Sessions, rotating refresh tokens, service clients, the audit log, and a per-user token version. */
export const lifecycle = ({ text }: ColumnTypes): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable('users')
      .addColumn('token_version', 'integer', (col) => col.notNull().defaultTo(0))
      .execute();

    await db.schema
      .createTable('sessions')
      .addColumn('id', text, (col) => col.primaryKey())
      .addColumn('user_id', text, (col) => col.notNull().references('users.id').onDelete('cascade'))
      .addColumn('client_id', text)
      .addColumn('scope', text, (col) => col.notNull())
      .addColumn('created_at', text, (col) => col.notNull())
      .addColumn('last_used_at', text, (col) => col.notNull())
      .addColumn('idle_expires_at', text, (col) => col.notNull())
      .addColumn('expires_at', text, (col) => col.notNull())
      .addColumn('ip', text)
      .addColumn('user_agent', text)
      .addColumn('revoked_at', text)
      .addColumn('revoked_reason', text)
      .execute();
    await db.schema.createIndex('sessions_user_id').on('sessions').column('user_id').execute();

    await db.schema
      .createTable('refresh_tokens')
      .addColumn('id', text, (col) => col.primaryKey())
      .addColumn('session_id', text, (col) => col.notNull().references('sessions.id').onDelete('cascade'))
      .addColumn('secret_hash', text, (col) => col.notNull())
      .addColumn('created_at', text, (col) => col.notNull())
      .addColumn('rotated_at', text)
      .addColumn('successor_id', text)
      .addColumn('successor_sealed', text)
      .execute();
    await db.schema.createIndex('refresh_tokens_session_id').on('refresh_tokens').column('session_id').execute();

    await db.schema
      .createTable('clients')
      .addColumn('id', text, (col) => col.primaryKey())
      .addColumn('name', text, (col) => col.notNull().unique())
      .addColumn('secret_hash', text, (col) => col.notNull())
      .addColumn('scopes', text, (col) => col.notNull().defaultTo(''))
      .addColumn('created_at', text, (col) => col.notNull())
      .execute();

    await db.schema
      .createTable('audit_events')
      .addColumn('id', text, (col) => col.primaryKey())
      .addColumn('at', text, (col) => col.notNull())
      .addColumn('type', text, (col) => col.notNull())
      .addColumn('outcome', text, (col) => col.notNull())
      .addColumn('actor', text)
      .addColumn('subject', text)
      .addColumn('ip', text)
      .addColumn('details', text)
      .execute();
    await db.schema.createIndex('audit_events_type').on('audit_events').columns(['type', 'id']).execute();
    await db.schema.createIndex('audit_events_subject').on('audit_events').columns(['subject', 'id']).execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('audit_events').execute();
    await db.schema.dropTable('clients').execute();
    await db.schema.dropTable('refresh_tokens').execute();
    await db.schema.dropTable('sessions').execute();
    await db.schema.alterTable('users').dropColumn('token_version').execute();
  },
});
