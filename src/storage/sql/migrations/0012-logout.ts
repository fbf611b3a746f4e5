import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes } from '../dialects/dialect.js';

/**
 * Logout (issue 16's last slice, ADR 0028's addendum).
 * - `clients.backchannel_logout_uri`: where a client takes back-channel logout tokens ('' = none).
 * - `sessions.browser_session_id`: for a session a code's exchange opened, the hosted pages'
 *   session (the OpenID `sid`) that issued the code. It outlives the code's row (pruned a day
 *   after expiry), so ending the browser session can end the client sessions it opened, and tell
 *   their clients, for as long as they live.
 * - `logout_deliveries`: back-channel logout tokens to send, an outbox with leases like the mail's
 *   (ADR 0022). The token itself is signed at each attempt (its `exp` is two minutes), so a row
 *   holds only the claims it is made of: the client, the user and the browser session.
 */
export const logout = ({ text }: ColumnTypes): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable('clients')
      .addColumn('backchannel_logout_uri', text, (col) => col.notNull().defaultTo(''))
      .execute();
    await db.schema.alterTable('sessions').addColumn('browser_session_id', text).execute();
    await db.schema.createIndex('sessions_browser_session').on('sessions').column('browser_session_id').execute();

    await db.schema
      .createTable('logout_deliveries')
      .addColumn('id', text, (col) => col.primaryKey())
      .addColumn('client_id', text, (col) => col.notNull().references('clients.id').onDelete('cascade'))
      .addColumn('uri', text, (col) => col.notNull())
      .addColumn('user_id', text, (col) => col.notNull())
      .addColumn('browser_session_id', text, (col) => col.notNull())
      .addColumn('status', text, (col) => col.notNull())
      .addColumn('attempts', 'integer', (col) => col.notNull())
      .addColumn('created_at', text, (col) => col.notNull())
      .addColumn('next_attempt_at', text, (col) => col.notNull())
      .addColumn('lease_owner', text)
      .addColumn('lease_until', text)
      .addColumn('finished_at', text)
      .addColumn('last_error', text)
      .execute();
    // The claim: queued deliveries by due time (and pruning, as the mail outbox's).
    await db.schema.createIndex('logout_deliveries_due').on('logout_deliveries').columns(['status', 'next_attempt_at']).execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('logout_deliveries').execute();
    await db.schema.dropIndex('sessions_browser_session').execute();
    await db.schema.alterTable('sessions').dropColumn('browser_session_id').execute();
    await db.schema.alterTable('clients').dropColumn('backchannel_logout_uri').execute();
  },
});
