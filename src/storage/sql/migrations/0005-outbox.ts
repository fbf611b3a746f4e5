import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes } from '../dialects/dialect.js';

/**
 * The mail outbox (ADR 0022): messages waiting to be sent, claimed by a sender with a lease,
 * kept once sent or given up on (with the body erased) for the counts.
 */
export const outbox = ({ text }: ColumnTypes): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('mail_outbox')
      .addColumn('id', text, (col) => col.primaryKey())
      .addColumn('kind', text, (col) => col.notNull())
      .addColumn('recipient', text, (col) => col.notNull())
      .addColumn('subject', text, (col) => col.notNull())
      .addColumn('body_text', text, (col) => col.notNull())
      .addColumn('body_html', text, (col) => col.notNull())
      .addColumn('status', text, (col) => col.notNull())
      .addColumn('attempts', 'integer', (col) => col.notNull())
      .addColumn('created_at', text, (col) => col.notNull())
      .addColumn('next_attempt_at', text, (col) => col.notNull())
      .addColumn('lease_owner', text)
      .addColumn('lease_until', text)
      .addColumn('finished_at', text)
      .addColumn('last_error', text)
      .execute();
    // The claim: queued messages by due time.
    await db.schema.createIndex('mail_outbox_due').on('mail_outbox').columns(['status', 'next_attempt_at']).execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('mail_outbox').execute();
  },
});
