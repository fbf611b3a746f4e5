import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes } from '../dialects/dialect.js';

/**
 * Clients of the authorization code flow (issue 16, ADR 0028).
 * - `clients.type` (`confidential`, or `public` with `secret_hash` ''), `redirect_uris`,
 *   `grant_types`, `first_party`, `post_logout_redirect_uris`; existing rows are the confidential
 *   service clients they were (client_credentials only).
 * - `authorization_codes`: a code's SHA-256 is the key; single use (`used_at`), bound to the client,
 *   redirect URI, PKCE challenge, scope, nonce, the user and how the browser session signed in;
 *   `session_id` is the session its exchange opened (revoked if the code comes back).
 * - `client_consents`: the scopes a user allowed a client, so the consent page is asked once.
 * Deleting a user or a client deletes its rows.
 */
export const oauthClients = ({ text }: ColumnTypes): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable('clients')
      .addColumn('type', text, (col) => col.notNull().defaultTo('confidential'))
      .execute();
    await db.schema
      .alterTable('clients')
      .addColumn('redirect_uris', text, (col) => col.notNull().defaultTo(''))
      .execute();
    await db.schema
      .alterTable('clients')
      .addColumn('grant_types', text, (col) => col.notNull().defaultTo('client_credentials'))
      .execute();
    await db.schema
      .alterTable('clients')
      .addColumn('first_party', 'integer', (col) => col.notNull().defaultTo(0))
      .execute();
    await db.schema
      .alterTable('clients')
      .addColumn('post_logout_redirect_uris', text, (col) => col.notNull().defaultTo(''))
      .execute();

    await db.schema
      .createTable('authorization_codes')
      .addColumn('code_hash', text, (col) => col.primaryKey())
      .addColumn('client_id', text, (col) => col.notNull().references('clients.id').onDelete('cascade'))
      .addColumn('user_id', text, (col) => col.notNull().references('users.id').onDelete('cascade'))
      .addColumn('redirect_uri', text, (col) => col.notNull())
      .addColumn('redirect_uri_given', 'integer', (col) => col.notNull())
      .addColumn('code_challenge', text, (col) => col.notNull())
      .addColumn('scope', text, (col) => col.notNull())
      .addColumn('nonce', text)
      .addColumn('browser_session_id', text, (col) => col.notNull())
      .addColumn('amr', text, (col) => col.notNull())
      .addColumn('acr', text, (col) => col.notNull())
      .addColumn('auth_time', text, (col) => col.notNull())
      .addColumn('created_at', text, (col) => col.notNull())
      .addColumn('expires_at', text, (col) => col.notNull())
      .addColumn('used_at', text)
      .addColumn('session_id', text)
      .execute();
    await db.schema.createIndex('authorization_codes_expires').on('authorization_codes').column('expires_at').execute();

    await db.schema
      .createTable('client_consents')
      .addColumn('id', text, (col) => col.primaryKey())
      .addColumn('user_id', text, (col) => col.notNull().references('users.id').onDelete('cascade'))
      .addColumn('client_id', text, (col) => col.notNull().references('clients.id').onDelete('cascade'))
      .addColumn('scope', text, (col) => col.notNull())
      .addColumn('granted_at', text, (col) => col.notNull())
      .addUniqueConstraint('client_consents_user_client', ['user_id', 'client_id'])
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('client_consents').execute();
    await db.schema.dropTable('authorization_codes').execute();
    for (const column of ['post_logout_redirect_uris', 'first_party', 'grant_types', 'redirect_uris', 'type']) {
      await db.schema.alterTable('clients').dropColumn(column).execute();
    }
  },
});
