import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes } from '../dialects/dialect.js';

export const init = ({ text }: ColumnTypes): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('users')
      .addColumn('id', text, (col) => col.primaryKey())
      .addColumn('username', text, (col) => col.notNull())
      .addColumn('username_key', text, (col) => col.notNull().unique())
      .addColumn('email', text)
      .addColumn('full_name', text)
      .addColumn('password_hash', text, (col) => col.notNull())
      .addColumn('disabled', 'integer', (col) => col.notNull().defaultTo(0))
      .addColumn('scopes', text, (col) => col.notNull().defaultTo(''))
      .addColumn('created_at', text, (col) => col.notNull())
      .addColumn('updated_at', text, (col) => col.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('users').execute();
  },
});
