import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes } from '../dialects/dialect.js';

/**
 * WebAuthn factors and passkey logins (issue 15, ADR 0025).
 * - `auth_factors` gains a WebAuthn credential's columns, null for TOTP rows: the registration's
 *   `webauthn_challenge` while pending; then the `credential_id` (base64url, unique), the COSE
 *   `public_key` (base64url), the `sign_count` (a lower one is a cloned authenticator), the
 *   `transports`, the `device_type` and the `backed_up` flag. Its `secret_sealed` is empty: a
 *   WebAuthn factor keeps no secret.
 * - `mfa_challenges.webauthn_challenge`: the challenge of the WebAuthn options an mfa_required
 *   answer carried, so that an assertion is bound to its mfa_token.
 * - `webauthn_login_challenges`: the SHA-256 of each passkey-login challenge handed out, used once.
 */
export const webauthn = ({ text }: ColumnTypes): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('auth_factors').addColumn('webauthn_challenge', text).execute();
    await db.schema.alterTable('auth_factors').addColumn('credential_id', text).execute();
    await db.schema.alterTable('auth_factors').addColumn('public_key', text).execute();
    await db.schema.alterTable('auth_factors').addColumn('sign_count', 'bigint').execute();
    await db.schema.alterTable('auth_factors').addColumn('transports', text).execute();
    await db.schema.alterTable('auth_factors').addColumn('device_type', text).execute();
    await db.schema.alterTable('auth_factors').addColumn('backed_up', 'integer').execute();
    await db.schema.createIndex('auth_factors_credential').on('auth_factors').column('credential_id').unique().execute();

    await db.schema.alterTable('mfa_challenges').addColumn('webauthn_challenge', text).execute();

    await db.schema
      .createTable('webauthn_login_challenges')
      .addColumn('challenge_hash', text, (col) => col.primaryKey())
      .addColumn('created_at', text, (col) => col.notNull())
      .addColumn('expires_at', text, (col) => col.notNull())
      .addColumn('used_at', text)
      .execute();
    await db.schema.createIndex('webauthn_login_challenges_expires').on('webauthn_login_challenges').column('expires_at').execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('webauthn_login_challenges').execute();
    await db.schema.alterTable('mfa_challenges').dropColumn('webauthn_challenge').execute();
    await db.schema.dropIndex('auth_factors_credential').execute();
    for (const column of ['backed_up', 'device_type', 'transports', 'sign_count', 'public_key', 'credential_id', 'webauthn_challenge']) {
      await db.schema.alterTable('auth_factors').dropColumn(column).execute();
    }
  },
});
