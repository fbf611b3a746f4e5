import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes } from '../dialects/dialect.js';

/** Asymmetric signing keys, shared by every instance; private keys sealed under SECRET_KEY. */
export const signingKeys = ({ text }: ColumnTypes): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('signing_keys')
      .addColumn('kid', text, (col) => col.primaryKey())
      .addColumn('algorithm', text, (col) => col.notNull())
      .addColumn('state', text, (col) => col.notNull())
      .addColumn('public_jwk', text, (col) => col.notNull())
      .addColumn('private_sealed', text, (col) => col.notNull())
      .addColumn('created_at', text, (col) => col.notNull())
      .addColumn('activated_at', text)
      .addColumn('retired_at', text)
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('signing_keys').execute();
  },
});
