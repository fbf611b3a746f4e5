/**
 * Importing users with their password hashes (issue 18). A source (import-sources/) turns an
 * export into records; here each record is checked (username, e-mail and name normalised, the
 * hash against its format's import bounds, weak ones only when allowed, duplicates in the file
 * and verified addresses taken), each user that exists already is skipped (or, with `update`,
 * replaced: hash, e-mail, verified flag, name, disabled), and everything is written in one
 * transaction, so an import lands whole or not at all. A dry run stops before the write. Hashes
 * are kept as they are and upgraded to argon2id at each user's next login (ADR 0026).
 */
import type { Clock } from '../clock.js';
import { PortcullisError } from '../errors.js';
import { checkImportableHash } from '../passwords/legacy/hash-formats.js';
import type { NewUser, UserStore } from '../ports.js';
import type { SourceRecord, SourceUser } from './import-sources/import-source.js';
import { emailKey, normalizeEmail, normalizeFullName, normalizeUsername, usernameKey } from './user-fields.js';

export interface RejectedRow {
  readonly line: number;
  readonly username: string | undefined;
  readonly reason: string;
}

/** A record that passed its checks, and what the import does (or, dry, would do) with it. */
export interface PlannedRow {
  readonly line: number;
  readonly username: string;
  readonly action: 'create' | 'update' | 'skip';
  /** The hash's scheme as its source names it (never the hash). */
  readonly scheme: string;
  /** The hash's cost parameters (never salts or digests). */
  readonly params: Readonly<Record<string, number>>;
  readonly weak: boolean;
}

export interface ImportReport {
  readonly total: number;
  /** Whether anything was written: false for a dry run, or when rejections stopped the import. */
  readonly written: boolean;
  /** Created (in a dry run: to be created). Rejections that stop the import make this and the next three 0. */
  readonly imported: number;
  /** Existing users replaced with `update` (or to be). */
  readonly updated: number;
  /** Existing users left as they are (without `update`). */
  readonly skipped: number;
  /** How many of the created or updated users have a weak hash (salted SHA), taken because allowWeak was set. */
  readonly weak: number;
  readonly rejected: readonly RejectedRow[];
  readonly planned: readonly PlannedRow[];
  /** Ids of the users replaced, for telling running servers (empty unless written). */
  readonly updatedIds: readonly string[];
}

export interface ImportOptions {
  /** Import the valid records even when some are rejected (default: import nothing then). */
  readonly skipInvalid?: boolean;
  /** Scopes to grant every created user, besides those the source maps. */
  readonly scopes?: readonly string[];
  /** Take weak hashes (salted SHA-1/SHA-256); whoever imports should warn that they are weak. */
  readonly allowWeak?: boolean;
  /** Replace users that exist (hash, e-mail, verified flag, name, disabled) instead of skipping them. */
  readonly update?: boolean;
  /** Check and plan only; write nothing. */
  readonly dryRun?: boolean;
  readonly onProgress?: (done: number, total: number) => void;
}

/** What an import needs of the user store. */
export type ImportStore = Pick<UserStore, 'existingKeys' | 'importMany' | 'findByVerifiedEmail'>;

interface Accepted {
  readonly line: number;
  readonly user: NewUser;
  readonly scheme: string;
  readonly params: Readonly<Record<string, number>>;
  readonly weak: boolean;
}

export async function importUsers(
  store: ImportStore,
  clock: Clock,
  records: readonly SourceRecord[],
  options: ImportOptions = {},
): Promise<ImportReport> {
  const rejected: RejectedRow[] = [];
  const accepted: Accepted[] = [];
  const seen = new Map<string, number>();
  const verifiedEmails = new Map<string, number>();

  records.forEach((record, index) => {
    if ('reason' in record) rejected.push({ line: record.line, username: record.username, reason: record.reason });
    else {
      try {
        const entry = toAccepted(record.line, record.user, options);
        const firstLine = seen.get(entry.user.usernameKey);
        if (firstLine !== undefined) throw new RecordRejection(`duplicate of the username on row ${firstLine}`);
        const verified = entry.user.emailVerified === true && entry.user.email !== null ? emailKey(entry.user.email) : undefined;
        const verifiedLine = verified === undefined ? undefined : verifiedEmails.get(verified);
        if (verifiedLine !== undefined)
          throw new RecordRejection(`email is verified on row ${verifiedLine} too (a verified address belongs to one account)`);
        seen.set(entry.user.usernameKey, record.line);
        if (verified !== undefined) verifiedEmails.set(verified, record.line);
        accepted.push(entry);
      } catch (error) {
        if (!(error instanceof RecordRejection || error instanceof PortcullisError)) throw error;
        rejected.push({ line: record.line, username: record.user.username, reason: error.message });
      }
    }
    if ((index + 1) % 1000 === 0) options.onProgress?.(index + 1, records.length);
  });

  const existing = await store.existingKeys(accepted.map((entry) => entry.user.usernameKey));
  const planned: PlannedRow[] = [];
  const create: Accepted[] = [];
  const replace: Accepted[] = [];
  for (const entry of accepted) {
    const exists = existing.has(entry.user.usernameKey);
    if (entry.user.emailVerified === true && entry.user.email !== null && (!exists || options.update === true)) {
      const holder = await store.findByVerifiedEmail(emailKey(entry.user.email));
      if (holder && holder.usernameKey !== entry.user.usernameKey) {
        rejected.push({ line: entry.line, username: entry.user.username, reason: 'email is the verified address of another account here' });
        continue;
      }
    }
    const action = !exists ? 'create' : options.update === true ? 'update' : 'skip';
    if (action === 'create') create.push(entry);
    if (action === 'update') replace.push(entry);
    const { line, scheme, params, weak } = entry;
    planned.push({ line, username: entry.user.username, action, scheme, params, weak });
  }
  rejected.sort((a, b) => a.line - b.line);

  // Rejections stop the import unless skipInvalid: then it would create and update nothing, dry or not.
  const stopped = rejected.length > 0 && options.skipInvalid !== true;
  const counts = {
    total: records.length,
    imported: stopped ? 0 : create.length,
    updated: stopped ? 0 : replace.length,
    skipped: stopped ? 0 : planned.filter((row) => row.action === 'skip').length,
    weak: stopped ? 0 : [...create, ...replace].filter((entry) => entry.weak).length,
    rejected,
    planned,
  };
  if (stopped || options.dryRun === true) return { ...counts, written: false, updatedIds: [] };
  const updatedIds = await store.importMany(
    { create: create.map((entry) => entry.user), replace: replace.map((entry) => entry.user) },
    clock.now(),
  );
  options.onProgress?.(records.length, records.length);
  return { ...counts, written: true, updatedIds };
}

class RecordRejection extends Error {}

function toAccepted(line: number, source: SourceUser, options: ImportOptions): Accepted {
  const username = normalizeUsername(source.username);
  const importable = checkImportableHash(source.passwordHash, { allowWeak: options.allowWeak === true, field: source.hashField });
  if (!importable.ok) throw new RecordRejection(importable.reason);
  const email = normalizeEmail(source.email);
  const user: NewUser = {
    username,
    usernameKey: usernameKey(username),
    email,
    emailVerified: email !== null && source.emailVerified,
    fullName: normalizeFullName(source.fullName),
    passwordHash: source.passwordHash,
    disabled: source.disabled,
    scopes: [...new Set([...(options.scopes ?? []), ...source.scopes])],
  };
  const { scheme, params, weak } = importable.hash;
  return { line, user, scheme, params, weak };
}
