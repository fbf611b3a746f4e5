/**
 * `--from firebase`: `firebase auth:export users.json --format=json` (`{ "users": [...] }`) plus
 * the project's password hash parameters, which the export does not hold: `--hash-key`,
 * `--salt-separator`, `--rounds`, `--mem-cost` exactly as the console shows them (Authentication >
 * Users > ⋮ > Password hash parameters). Each user's passwordHash and salt with those become the
 * canonical `$firebase-scrypt$rounds=R,mem_cost=M$<signer key>$<salt separator>$<salt>$<hash>`
 * of ADR 0026. The e-mail is the username; emailVerified, displayName and disabled map as named.
 * Users without an e-mail (phone, anonymous) or a password (Google and other providers only) are
 * rejected with that reason.
 */
import { asFields, field, flag, mapRecords, optionalText, RecordError } from './source-fields.js';
import { ImportFileError, type FirebaseHashConfig, type ImportSource, type SourceUser } from './import-source.js';
import { arrayRecords, parseJson } from './read-records.js';

/** Standard padded base64, also from the URL-safe or unpadded form some tools write. */
export function standardBase64(text: string): string {
  const body = text.trim().replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  return body + '='.repeat((4 - (body.length % 4)) % 4);
}

export function firebaseHash(config: FirebaseHashConfig, salt: string, hash: string): string {
  const parts = [config.signerKey, config.saltSeparator, salt, hash].map(standardBase64);
  return `$firebase-scrypt$rounds=${config.rounds},mem_cost=${config.memCost}$${parts.join('$')}`;
}

function toUser(value: unknown, config: FirebaseHashConfig): SourceUser {
  const user = asFields(value, 'a user');
  const email = optionalText(user, 'email');
  if (email === null) throw new RecordError('no email (a phone or anonymous user): Portcullis signs in by username and password');
  const hash = optionalText(user, 'passwordHash');
  if (hash === null) throw new RecordError('no passwordHash (the user signs in through a provider such as Google only)');
  const salt = optionalText(user, 'salt');
  if (salt === null) throw new RecordError('salt is missing');
  return {
    username: email,
    passwordHash: firebaseHash(config, salt, hash),
    hashField: 'passwordHash',
    email,
    emailVerified: flag(user, 'emailVerified', false),
    fullName: optionalText(user, 'displayName'),
    disabled: flag(user, 'disabled', false),
    scopes: [],
  };
}

export const firebaseSource: ImportSource = {
  name: 'firebase',
  formats: ['json'],
  read(text, options) {
    const config = options.firebase;
    if (!config)
      throw new ImportFileError('--from firebase needs the project hash parameters: --hash-key, --salt-separator, --rounds, --mem-cost');
    const data = parseJson(text);
    const users = data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>).users : undefined;
    if (!Array.isArray(users))
      throw new ImportFileError('a Firebase export is a JSON object with a users list; run firebase auth:export users.json --format=json');
    return { records: mapRecords(arrayRecords(users), (value) => toUser(value, config), field('email')), notes: [] };
  },
};
