/**
 * `--from supabase`: Supabase Auth's `auth.users` table exported as CSV (the dashboard's table
 * editor, or `\copy (select …) to 'users.csv' csv header` in psql) or JSON (an array of rows).
 * email is the username (Supabase signs in by address); encrypted_password is bcrypt; a set
 * email_confirmed_at makes the address verified; raw_user_meta_data's full_name, else name, is
 * the full name; banned_until in the future disables. Phone-only users (no email), users with no
 * password (magic link, OTP, OAuth) and deleted ones are rejected with that reason.
 */
import { asFields, field, mapRecords, optionalText, RecordError, type Fields } from './source-fields.js';
import { ImportFileError, type ImportSource, type SourceUser } from './import-source.js';
import { arrayRecords, csvRecords, parseJson } from './read-records.js';

/** A PostgreSQL timestamptz as its CSV or JSON export writes it (`2024-01-02 03:04:05.123456+00`), in ms; `infinity` is forever. */
export function parsePgTimestamp(text: string, name: string): number {
  if (text === 'infinity') return Number.POSITIVE_INFINITY;
  if (text === '-infinity') return Number.NEGATIVE_INFINITY;
  const iso = text
    .trim()
    .replace(' ', 'T')
    .replace(/([+-]\d\d)$/, '$1:00');
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new RecordError(`${name} is not a timestamp`);
  return ms;
}

function metadataOf(row: Fields): Fields {
  const value = row.raw_user_meta_data;
  if (value === undefined || value === null || value === '') return {};
  if (typeof value === 'string') {
    try {
      return asFields(JSON.parse(value), 'raw_user_meta_data');
    } catch (error) {
      if (error instanceof RecordError) throw error;
      throw new RecordError('raw_user_meta_data is not valid JSON');
    }
  }
  return asFields(value, 'raw_user_meta_data');
}

function toUser(value: unknown, nowMs: number): SourceUser {
  const row = asFields(value, 'a user');
  const email = optionalText(row, 'email');
  if (email === null) {
    throw new RecordError(
      optionalText(row, 'phone') !== null
        ? 'a phone-only user (no email): Portcullis signs in by username and password'
        : 'email is missing',
    );
  }
  if (optionalText(row, 'deleted_at') !== null) throw new RecordError('a deleted user (deleted_at is set)');
  const hash = optionalText(row, 'encrypted_password');
  if (hash === null) throw new RecordError('no password (encrypted_password is empty: a magic-link, OTP or OAuth user)');
  const bannedUntil = optionalText(row, 'banned_until');
  const metadata = metadataOf(row);
  const name = [metadata.full_name, metadata.name].find((candidate) => typeof candidate === 'string' && candidate.trim() !== '');
  return {
    username: email,
    passwordHash: hash,
    hashField: 'encrypted_password',
    email,
    emailVerified: optionalText(row, 'email_confirmed_at') !== null,
    fullName: typeof name === 'string' ? name : null,
    disabled: bannedUntil !== null && parsePgTimestamp(bannedUntil, 'banned_until') > nowMs,
    scopes: [],
  };
}

export const supabaseSource: ImportSource = {
  name: 'supabase',
  formats: ['csv', 'json'],
  read(text, options) {
    let raw;
    if (options.format === 'csv') raw = csvRecords(text);
    else {
      const data = parseJson(text);
      if (!Array.isArray(data)) throw new ImportFileError('a JSON export of auth.users is an array of rows');
      raw = arrayRecords(data);
    }
    return { records: mapRecords(raw, (value) => toUser(value, options.nowMs), field('email')), notes: [] };
  },
};
