/**
 * `--from wordpress`: the `wp_users` table as CSV with a header row (phpMyAdmin's or Adminer's
 * CSV export, or the tab-separated output of `wp db query "SELECT … FROM wp_users"`). user_login
 * is the username; user_pass is phpass `$P$` (WordPress before 6.8), `$wp$2y$…` (6.8+: bcrypt over
 * an HMAC-SHA384 pre-hash) or plain bcrypt; user_email, display_name map as named; a user_status
 * other than 0 (spam in multisite), or the multisite spam/deleted columns set, disables.
 * WordPress verifies no addresses, so they come unverified. A 32-character MD5 (a password set
 * by hand in the database, which WordPress upgrades at the next login) is rejected: unsalted
 * MD5 is not imported.
 */
import { asFields, field, flag, mapRecords, optionalText, RecordError, requiredText, type Fields } from './source-fields.js';
import type { ImportSource, SourceUser } from './import-source.js';
import { csvRecords } from './read-records.js';

function disabled(row: Fields): boolean {
  const status = optionalText(row, 'user_status');
  if (status !== null && !/^\d+$/.test(status)) throw new RecordError('user_status must be a number');
  return (status !== null && Number(status) !== 0) || flag(row, 'spam', false) || flag(row, 'deleted', false);
}

function toUser(value: unknown): SourceUser {
  const row = asFields(value, 'a user');
  const hash = requiredText(row, 'user_pass');
  if (/^[0-9a-f]{32}$/i.test(hash)) {
    throw new RecordError('user_pass is an unsalted MD5 (set by hand in the database): not imported; have the user reset the password');
  }
  return {
    username: requiredText(row, 'user_login'),
    passwordHash: hash,
    hashField: 'user_pass',
    email: optionalText(row, 'user_email'),
    emailVerified: false,
    fullName: optionalText(row, 'display_name'),
    disabled: disabled(row),
    scopes: [],
  };
}

export const wordpressSource: ImportSource = {
  name: 'wordpress',
  formats: ['csv'],
  read: (text) => ({ records: mapRecords(csvRecords(text), toUser, field('user_login')), notes: [] }),
};
