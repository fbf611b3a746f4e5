/**
 * `--from csv` and `--from jsonl`: users in the documented columns, for any system without a
 * source of its own: username, password_hash (any format of core/passwords/legacy), email,
 * email_verified, full_name, disabled, scopes (space- or comma-separated). CSV has a header row;
 * JSON lines hold one object per line.
 */
import { parseScopeList } from '../../tokens/scopes.js';
import { asFields, field, flag, mapRecords, optionalText, RecordError, requiredText, type Fields } from './source-fields.js';
import type { ImportSource, SourceUser } from './import-source.js';
import { csvRecords, jsonLineRecords } from './read-records.js';

export const TABULAR_COLUMNS = ['username', 'password_hash', 'email', 'email_verified', 'full_name', 'disabled', 'scopes'] as const;

function scopesOf(row: Fields): string[] {
  const value = row.scopes;
  if (value === undefined || value === null || value === '') return [];
  const list = Array.isArray(value) && value.every((item) => typeof item === 'string') ? value.join(' ') : value;
  if (typeof list !== 'string') throw new RecordError('scopes must be text or a list of text');
  try {
    return parseScopeList(list);
  } catch (error) {
    throw new RecordError(`scopes: ${(error as Error).message}`);
  }
}

function toUser(value: unknown): SourceUser {
  const row = asFields(value, 'a user');
  return {
    username: requiredText(row, 'username'),
    passwordHash: requiredText(row, 'password_hash'),
    hashField: 'password_hash',
    email: optionalText(row, 'email'),
    emailVerified: flag(row, 'email_verified', false),
    fullName: optionalText(row, 'full_name'),
    disabled: flag(row, 'disabled', false),
    scopes: scopesOf(row),
  };
}

export const csvSource: ImportSource = {
  name: 'csv',
  formats: ['csv'],
  read: (text) => ({ records: mapRecords(csvRecords(text), toUser, field('username')), notes: [] }),
};

export const jsonlSource: ImportSource = {
  name: 'jsonl',
  formats: ['jsonl'],
  read: (text) => ({ records: mapRecords(jsonLineRecords(text), toUser, field('username')), notes: [] }),
};
