/**
 * Importing users exported from the guide's app: rows of username,
 * hashed_password, email, full_name, disabled. Hashes are kept as they are
 * (any format of passwords/legacy/hash-formats.ts within its import bounds,
 * upgraded to argon2id at each user's next login; weak ones only when the
 * operator allows them). Every row is checked first; rows are then written in
 * one transaction, so an import either lands whole or not at all.
 */
import type { Clock } from '../clock.js';
import { PortcullisError } from '../errors.js';
import { checkImportableHash } from '../passwords/legacy/hash-formats.js';
import type { NewUser, UserStore } from '../ports.js';
import { normalizeEmail, normalizeFullName, normalizeUsername, usernameKey } from './user-fields.js';

export interface ImportRow {
  /** Where the row is, 1-based: the line of the file for CSV (the header is line 1), the position in the array for JSON. */
  readonly line: number;
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface RejectedRow {
  readonly line: number;
  readonly username: string | undefined;
  readonly reason: string;
}

export interface ImportReport {
  readonly total: number;
  readonly imported: number;
  /** How many of the imported users have a weak hash (salted SHA), taken because allowWeak was set. */
  readonly weak: number;
  readonly rejected: readonly RejectedRow[];
}

export interface ImportOptions {
  /** Import the valid rows even when some are rejected (default: import nothing then). */
  readonly skipInvalid?: boolean;
  readonly scopes?: readonly string[];
  /** Take weak hashes (salted SHA-1/SHA-256); whoever imports should warn that they are weak. */
  readonly allowWeak?: boolean;
  readonly onProgress?: (done: number, total: number) => void;
}

/** What an import needs of the user store. */
export type ImportStore = Pick<UserStore, 'existingKeys' | 'createMany'>;

export async function importUsers(
  store: ImportStore,
  clock: Clock,
  rows: readonly ImportRow[],
  options: ImportOptions = {},
): Promise<ImportReport> {
  const rejected: RejectedRow[] = [];
  const accepted: Array<{ line: number; user: NewUser; weak: boolean }> = [];
  const seen = new Map<string, number>();

  rows.forEach((row, index) => {
    const username = typeof row.fields.username === 'string' ? row.fields.username : undefined;
    try {
      const { user, weak } = toNewUser(row.fields, options.scopes ?? [], options.allowWeak === true);
      const firstLine = seen.get(user.usernameKey);
      if (firstLine !== undefined) throw new RowError(`duplicate of the username on row ${firstLine}`);
      seen.set(user.usernameKey, row.line);
      accepted.push({ line: row.line, user, weak });
    } catch (error) {
      if (!(error instanceof RowError || error instanceof PortcullisError)) throw error;
      rejected.push({ line: row.line, username, reason: error.message });
    }
    if ((index + 1) % 1000 === 0) options.onProgress?.(index + 1, rows.length);
  });

  const existing = await store.existingKeys(accepted.map((entry) => entry.user.usernameKey));
  const fresh = accepted.filter((entry) => {
    if (!existing.has(entry.user.usernameKey)) return true;
    rejected.push({ line: entry.line, username: entry.user.username, reason: 'username already registered' });
    return false;
  });
  rejected.sort((a, b) => a.line - b.line);

  if (rejected.length > 0 && !options.skipInvalid) return { total: rows.length, imported: 0, weak: 0, rejected };
  await store.createMany(
    fresh.map((entry) => entry.user),
    clock.now(),
  );
  options.onProgress?.(rows.length, rows.length);
  return { total: rows.length, imported: fresh.length, weak: fresh.filter((entry) => entry.weak).length, rejected };
}

class RowError extends Error {}

function toNewUser(
  fields: Readonly<Record<string, unknown>>,
  scopes: readonly string[],
  allowWeak: boolean,
): { user: NewUser; weak: boolean } {
  const username = normalizeUsername(requireString(fields, 'username'));
  const passwordHash = requireString(fields, 'hashed_password');
  const importable = checkImportableHash(passwordHash, { allowWeak });
  if (!importable.ok) throw new RowError(importable.reason);
  const user: NewUser = {
    username,
    usernameKey: usernameKey(username),
    email: normalizeEmail(optionalString(fields, 'email')),
    fullName: normalizeFullName(optionalString(fields, 'full_name')),
    passwordHash,
    disabled: parseDisabled(fields.disabled),
    scopes,
  };
  return { user, weak: importable.hash.weak };
}

function requireString(fields: Readonly<Record<string, unknown>>, name: string): string {
  const value = fields[name];
  if (typeof value !== 'string' || value === '') throw new RowError(`${name} is missing`);
  return value;
}

function optionalString(fields: Readonly<Record<string, unknown>>, name: string): string | null {
  const value = fields[name];
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') throw new RowError(`${name} must be text`);
  return value;
}

function parseDisabled(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number' && (value === 0 || value === 1)) return value === 1;
  if (typeof value === 'string') {
    const lower = value.trim().toLowerCase();
    if (['true', '1', 'yes'].includes(lower)) return true;
    if (['false', '0', 'no'].includes(lower)) return false;
  }
  throw new RowError('disabled must be true or false');
}
