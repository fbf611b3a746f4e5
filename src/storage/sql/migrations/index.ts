import type { Migration } from 'kysely';
import type { ColumnTypes } from '../dialects/dialect.js';
import { init } from './0001-init.js';
import { lifecycle } from './0002-lifecycle.js';
import { signingKeys } from './0003-signing-keys.js';
import { revocationFeed } from './0004-revocation-feed.js';
import { outbox } from './0005-outbox.js';
import { passwordResets } from './0006-password-resets.js';
import { emailVerification } from './0007-email-verification.js';
import { secondFactors } from './0008-second-factors.js';
import { webauthn } from './0009-webauthn.js';
import { mfaPolicy } from './0010-mfa-policy.js';
import { oauthClients } from './0011-oauth-clients.js';
import { logout } from './0012-logout.js';

/** Names sort in the order the migrations run. */
const ALL: Readonly<Record<string, (types: ColumnTypes) => Migration>> = {
  '0001-init': init,
  '0002-lifecycle': lifecycle,
  '0003-signing-keys': signingKeys,
  '0004-revocation-feed': revocationFeed,
  '0005-outbox': outbox,
  '0006-password-resets': passwordResets,
  '0007-email-verification': emailVerification,
  '0008-second-factors': secondFactors,
  '0009-webauthn': webauthn,
  '0010-mfa-policy': mfaPolicy,
  '0011-oauth-clients': oauthClients,
  '0012-logout': logout,
};

export const MIGRATION_NAMES: readonly string[] = Object.freeze(Object.keys(ALL).sort());

/** Every migration this version knows, for one database's column types. */
export function migrationsFor(types: ColumnTypes): Record<string, Migration> {
  return Object.fromEntries(Object.entries(ALL).map(([name, make]) => [name, make(types)]));
}
