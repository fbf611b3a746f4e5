/**
 * `--from auth0`: the bulk user export with password hashes that Auth0 support provides for a
 * database connection (NDJSON: one user per line). username when the connection has one, else
 * email, is the username; passwordHash is bcrypt; email_verified, name and blocked (disabled)
 * map as named. Users without a passwordHash (social or passwordless) are rejected with that
 * reason.
 */
import { asFields, flag, mapRecords, optionalText, RecordError } from './source-fields.js';
import type { ImportSource, SourceUser } from './import-source.js';
import { jsonLineRecords } from './read-records.js';

function usernameOf(value: unknown): string | null {
  const user = asFields(value, 'a user');
  return optionalText(user, 'username') ?? optionalText(user, 'email');
}

function toUser(value: unknown): SourceUser {
  const user = asFields(value, 'a user');
  const username = usernameOf(user);
  if (username === null) throw new RecordError('neither username nor email is given');
  const hash = optionalText(user, 'passwordHash');
  if (hash === null) throw new RecordError('no passwordHash (a social or passwordless user)');
  return {
    username,
    passwordHash: hash,
    hashField: 'passwordHash',
    email: optionalText(user, 'email'),
    emailVerified: flag(user, 'email_verified', false),
    fullName: optionalText(user, 'name'),
    disabled: flag(user, 'blocked', false),
    scopes: [],
  };
}

export const auth0Source: ImportSource = {
  name: 'auth0',
  formats: ['jsonl'],
  read: (text) => ({ records: mapRecords(jsonLineRecords(text), toUser, usernameOf), notes: [] }),
};
