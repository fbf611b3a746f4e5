/**
 * `--from fastapi` (the default): the FastAPI guide's users, as JSON (an array of rows, or the
 * guide's `fake_users_db` dictionary `{ "name": { ...row } }`) or CSV with a header row. Columns:
 * username, hashed_password (passlib's bcrypt in the guide; any format of core/passwords/legacy),
 * email, full_name, disabled. The guide has no verified flag or scopes (`--scopes` grants some).
 */
import { asFields, field, flag, mapRecords, optionalText, requiredText } from './source-fields.js';
import { ImportFileError, type ImportSource, type SourceRecord, type SourceUser } from './import-source.js';
import { arrayRecords, csvRecords, parseJson, type RawRecord } from './read-records.js';

function guideRecords(text: string): RawRecord[] {
  const data = parseJson(text);
  if (Array.isArray(data)) return arrayRecords(data);
  if (data !== null && typeof data === 'object') {
    return arrayRecords(
      Object.entries(data).map(([name, row]) =>
        row !== null && typeof row === 'object' && !Array.isArray(row) ? { username: name, ...row } : row,
      ),
    );
  }
  throw new ImportFileError('JSON must be an array of users or an object of users by name');
}

function toUser(value: unknown): SourceUser {
  const row = asFields(value, 'a user');
  return {
    username: requiredText(row, 'username'),
    passwordHash: requiredText(row, 'hashed_password'),
    hashField: 'hashed_password',
    email: optionalText(row, 'email'),
    emailVerified: false,
    fullName: optionalText(row, 'full_name'),
    disabled: flag(row, 'disabled', false),
    scopes: [],
  };
}

/** The guide's rows as records (also for callers that hold the rows already, as the tests do). */
export function fastapiRecords(raw: readonly RawRecord[]): SourceRecord[] {
  return mapRecords(raw, toUser, field('username'));
}

export const fastapiSource: ImportSource = {
  name: 'fastapi',
  formats: ['json', 'csv'],
  read(text, options) {
    const raw = options.format === 'csv' ? csvRecords(text) : guideRecords(text);
    return { records: fastapiRecords(raw), notes: [] };
  },
};
