/**
 * `portcullis users import FILE`: users exported from the guide's app, as JSON
 * (an array of rows, or the guide's `{ "name": { ...row } }` dictionary) or
 * CSV with a header row. Columns: username, hashed_password, email,
 * full_name, disabled; the hash in any format of core/passwords/legacy/
 * (weak ones with --allow-weak, which warns). Nothing is imported unless every
 * row is valid, unless --skip-invalid is given; either way the write is one
 * transaction.
 */
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { CLI } from '../../core/action-context.js';
import { parse as parseCsv } from 'csv-parse/sync';
import { systemClock } from '../../core/clock.js';
import { parseScopeList } from '../../core/tokens/scopes.js';
import { importUsers, type ImportRow } from '../../core/users/user-import.js';
import { withUserAdmin } from '../../server/admin.js';
import { EXIT_FAILURE, EXIT_OK } from '../../server/exit-codes.js';
import { UsageError } from '../prompt.js';

export interface ImportOptions {
  readonly format?: string;
  readonly skipInvalid?: boolean;
  readonly allowWeak?: boolean;
  readonly scopes?: string;
}

export const ALLOW_WEAK_WARNING =
  "warning: --allow-weak: weak hashes (salted SHA-1/SHA-256, unstretched) are imported; each is upgraded to argon2id at its user's first login, and until then a stolen copy of the database is cheap to crack";

export function parseImportFile(text: string, format: 'json' | 'csv'): ImportRow[] {
  if (format === 'csv') {
    let records: Array<{ record: Record<string, string>; info: { lines: number } }>;
    try {
      records = parseCsv(text, { columns: true, skip_empty_lines: true, bom: true, info: true, trim: true }) as never;
    } catch (error) {
      throw new UsageError(`not valid CSV: ${(error as Error).message}`);
    }
    return records.map(({ record, info }) => ({ line: info.lines, fields: record }));
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`not valid JSON: ${(error as Error).message}`);
  }
  const rows = Array.isArray(data)
    ? data
    : data !== null && typeof data === 'object'
      ? Object.entries(data).map(([name, row]) => (row !== null && typeof row === 'object' ? { username: name, ...(row as object) } : row))
      : undefined;
  if (!rows) throw new UsageError('JSON must be an array of users or an object of users by name');
  return rows.map((row, index) => ({
    line: index + 1,
    fields: row !== null && typeof row === 'object' && !Array.isArray(row) ? (row as Record<string, unknown>) : {},
  }));
}

/** The file's text, or a UsageError that says which file and why it cannot be read. */
async function readImportFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(describeReadError(file, error));
  }
}

const READ_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EISDIR: 'it is a directory, not a file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOTDIR: 'a part of its path is not a directory',
};

export function describeReadError(file: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const reason = code === undefined ? undefined : READ_ERRORS[code];
  if (reason !== undefined) return `cannot read ${file}: ${reason} (${code})`;
  return `cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`;
}

function detectFormat(file: string, format: string | undefined): 'json' | 'csv' {
  const chosen = (format ?? extname(file).slice(1)).toLowerCase();
  if (chosen === 'json' || chosen === 'csv') return chosen;
  throw new UsageError(`cannot tell the format of ${file}; pass --format json or --format csv`);
}

export async function importUsersCommand(file: string, options: ImportOptions): Promise<number> {
  const format = detectFormat(file, options.format);
  let scopes: string[] = [];
  try {
    scopes = options.scopes === undefined ? [] : parseScopeList(options.scopes);
  } catch (error) {
    throw new UsageError(`--scopes: ${(error as Error).message}`);
  }
  const allowWeak = options.allowWeak === true;
  if (allowWeak) process.stderr.write(`${ALLOW_WEAK_WARNING}\n`);
  const text = await readImportFile(file);
  const rows = parseImportFile(text, format);
  process.stderr.write(`Read ${rows.length} row(s) from ${file}\n`);

  const report = await withUserAdmin(async ({ storage, audit }) => {
    const result = await importUsers(storage.users, systemClock, rows, {
      skipInvalid: options.skipInvalid === true,
      allowWeak,
      scopes,
      onProgress: (done, total) => process.stderr.write(`  checked ${done}/${total} rows\n`),
    });
    if (result.imported > 0) {
      await audit.record({
        type: 'users.imported',
        outcome: 'success',
        actor: CLI.actor,
        details: { imported: result.imported, rejected: result.rejected.length, weak: result.weak, file: basename(file) },
      });
    }
    return result;
  });

  for (const row of report.rejected) {
    // The name comes from the file: quote it, so control characters cannot reach the terminal raw.
    console.error(`  rejected row ${row.line}${row.username ? ` (${JSON.stringify(row.username)})` : ''}: ${row.reason}`);
  }
  if (report.rejected.length > 0 && !options.skipInvalid) {
    console.error(
      `Imported nothing: ${report.rejected.length} of ${report.total} row(s) rejected. Fix them, or pass --skip-invalid to import the other rows.`,
    );
    return EXIT_FAILURE;
  }
  console.log(`Imported ${report.imported} of ${report.total} user(s); ${report.rejected.length} rejected.`);
  if (report.weak > 0) process.stderr.write(`warning: ${report.weak} imported user(s) have a weak hash until their first login\n`);
  return EXIT_OK;
}
