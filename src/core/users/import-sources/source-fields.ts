/**
 * Reading one record's fields for the import sources: each helper takes a field by name and
 * returns it typed, or throws a RecordError whose message is the rejection reason (naming the
 * field as the source names it, never quoting a hash). mapRecords turns the errors into
 * rejected records, so a malformed record is a reason, never a crash.
 */
import { PortcullisError } from '../../errors.js';
import type { RawRecord } from './read-records.js';
import type { SourceRecord, SourceUser } from './import-source.js';

export type Fields = Readonly<Record<string, unknown>>;

/** Why one record is rejected. */
export class RecordError extends Error {}

export function asFields(value: unknown, what = 'a record'): Fields {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new RecordError(`${what} must be an object`);
  return value as Fields;
}

/** A non-empty string. */
export function requiredText(fields: Fields, name: string): string {
  const value = fields[name];
  if (value === undefined || value === null || value === '') throw new RecordError(`${name} is missing`);
  if (typeof value !== 'string') throw new RecordError(`${name} must be text`);
  return value;
}

/** A string, or null when absent or empty. */
export function optionalText(fields: Fields, name: string): string | null {
  const value = fields[name];
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') throw new RecordError(`${name} must be text`);
  return value;
}

const TRUE = new Set(['true', '1', 'yes', 't']);
const FALSE = new Set(['false', '0', 'no', 'f']);

/** A boolean as JSON, CSV or a PostgreSQL export writes it (true/false, 1/0, yes/no, t/f); absent is `absent`. */
export function flag(fields: Fields, name: string, absent: boolean): boolean {
  const value = fields[name];
  if (value === undefined || value === null || value === '') return absent;
  if (typeof value === 'boolean') return value;
  if (value === 0 || value === 1) return value === 1;
  if (typeof value === 'string') {
    const lower = value.trim().toLowerCase();
    if (TRUE.has(lower)) return true;
    if (FALSE.has(lower)) return false;
  }
  throw new RecordError(`${name} must be true or false`);
}

/** First and last name as one full name, or null when both are empty. */
export function joinNames(first: string | null, last: string | null): string | null {
  const joined = [first, last]
    .map((part) => part?.trim() ?? '')
    .filter((part) => part !== '')
    .join(' ');
  return joined === '' ? null : joined;
}

/** A user from each raw record, or the reason it is rejected; `usernameOf` names the record in a rejection. */
export function mapRecords(
  raw: readonly RawRecord[],
  toUser: (value: unknown) => SourceUser,
  usernameOf: (value: unknown) => unknown,
): SourceRecord[] {
  return raw.map((record): SourceRecord => {
    if ('error' in record) return { line: record.line, username: undefined, reason: record.error };
    try {
      return { line: record.line, user: toUser(record.value) };
    } catch (error) {
      if (!(error instanceof RecordError || error instanceof PortcullisError)) throw error;
      let username: unknown;
      try {
        username = usernameOf(record.value);
      } catch {
        username = undefined;
      }
      return { line: record.line, username: typeof username === 'string' && username !== '' ? username : undefined, reason: error.message };
    }
  });
}

/** The named field of an object record, or undefined (for naming a rejected record). */
export function field(name: string): (value: unknown) => unknown {
  return (value) => (value !== null && typeof value === 'object' ? (value as Fields)[name] : undefined);
}
