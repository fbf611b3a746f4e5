import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes } from '../dialects/dialect.js';

/**
 * The revocation feed (GET /revocations): a log of revoked sessions in commit
 * order, and the counter that numbers it. The counter's one row is created by
 * the first revocation (not here), so a freshly migrated database holds no
 * row and `db copy` can still fill it.
 */
export const revocationFeed = ({ text }: ColumnTypes): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('session_revocations')
      .addColumn('seq', 'bigint', (col) => col.primaryKey())
      // No foreign key: the entry must outlive its session (a removed user's sessions are deleted).
      .addColumn('session_id', text, (col) => col.notNull())
      .addColumn('min_token_version', 'integer')
      .addColumn('revoked_at', text, (col) => col.notNull())
      .execute();
    // Pruning deletes by age.
    await db.schema.createIndex('session_revocations_revoked_at').on('session_revocations').column('revoked_at').execute();

    await db.schema
      .createTable('revocation_sequence')
      .addColumn('id', 'integer', (col) => col.primaryKey())
      .addColumn('last_seq', 'bigint', (col) => col.notNull())
      .addColumn('pruned_through', 'bigint', (col) => col.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('revocation_sequence').execute();
    await db.schema.dropTable('session_revocations').execute();
  },
});
