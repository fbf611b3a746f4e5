/**
 * `portcullis users import [--from SOURCE] FILE`: users moved in with their password hashes
 * (issue 18). The source (core/users/import-sources/) reads its system's export; the importer
 * checks every record, skips users that exist (or replaces them with --update), and writes in one
 * transaction; --dry-run stops before the write. Nothing is imported while any record is
 * rejected, unless --skip-invalid. On stderr: progress, rejections with their row and reason
 * (never a hash), and what the first login of the imported users will cost against an unknown
 * user's, with a warning above the enumeration bound; on stdout the plan (dry run) and the
 * summary line.
 */
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { CLI } from '../../core/action-context.js';
import { systemClock } from '../../core/clock.js';
import { parseScopeList } from '../../core/tokens/scopes.js';
import { estimateLoginCosts, ENUMERATION_BOUND, type LoginCostReport } from '../../core/users/import-login-cost.js';
import {
  IMPORT_SOURCES,
  ImportFileError,
  SOURCE_NAMES,
  type FirebaseHashConfig,
  type SourceName,
  type SourceRecord,
} from '../../core/users/import-sources/sources.js';
import { importUsers, type ImportReport } from '../../core/users/user-import.js';
import { withUserAdmin } from '../../server/admin.js';
import { EXIT_FAILURE, EXIT_OK } from '../../server/exit-codes.js';
import { UsageError } from '../prompt.js';

export interface ImportOptions {
  readonly from?: string;
  readonly format?: string;
  readonly skipInvalid?: boolean;
  readonly allowWeak?: boolean;
  readonly scopes?: string;
  readonly dryRun?: boolean;
  readonly update?: boolean;
  readonly adminFromStaff?: boolean;
  readonly scopesFromRoles?: boolean;
  readonly hashKey?: string;
  readonly saltSeparator?: string;
  readonly rounds?: string;
  readonly memCost?: string;
}

export const ALLOW_WEAK_WARNING =
  "warning: --allow-weak: weak hashes (salted SHA-1/SHA-256, unstretched) are imported; each is upgraded to argon2id at its user's first login, and until then a stolen copy of the database is cheap to crack";

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

function sourceName(from: string | undefined): SourceName {
  const name = (from ?? 'fastapi').toLowerCase();
  if ((SOURCE_NAMES as readonly string[]).includes(name)) return name as SourceName;
  throw new UsageError(`--from ${from}: not a known source; one of ${SOURCE_NAMES.join(', ')}`);
}

/** json or csv for a source that reads both (from --format or the extension); undefined for one that reads one format. */
function fileFormat(file: string, source: SourceName, format: string | undefined): 'json' | 'csv' | undefined {
  const formats = IMPORT_SOURCES[source].formats;
  if (formats.length === 1 && format === undefined) return undefined;
  const chosen = (format ?? extname(file).slice(1)).toLowerCase();
  if ((chosen === 'json' || chosen === 'csv') && (formats as readonly string[]).includes(chosen)) return chosen;
  if (format !== undefined) throw new UsageError(`--format ${format}: --from ${source} reads ${formats.join(' or ')}`);
  throw new UsageError(`cannot tell the format of ${file}; pass --format ${formats.join(' or --format ')}`);
}

function positiveInteger(flag: string, value: string | undefined): number {
  if (value === undefined) throw new UsageError(`--from firebase needs ${flag} (the console's Password hash parameters)`);
  if (!/^[1-9]\d{0,2}$/.test(value)) throw new UsageError(`${flag} ${value}: a positive whole number, as the console shows it`);
  return Number(value);
}

function firebaseConfig(options: ImportOptions): FirebaseHashConfig {
  const text = (flag: string, value: string | undefined): string => {
    if (value === undefined || value === '') throw new UsageError(`--from firebase needs ${flag} (the console's Password hash parameters)`);
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) throw new UsageError(`${flag}: not base64, as the console shows it`);
    return value;
  };
  return {
    signerKey: text('--hash-key', options.hashKey),
    saltSeparator: text('--salt-separator', options.saltSeparator),
    rounds: positiveInteger('--rounds', options.rounds),
    memCost: positiveInteger('--mem-cost', options.memCost),
  };
}

/** Source-specific flags given to another source are mistakes: say so rather than ignore them. */
function checkSourceFlags(source: SourceName, options: ImportOptions): void {
  const owned: Array<[string, SourceName, unknown]> = [
    ['--admin-from-staff', 'django', options.adminFromStaff],
    ['--scopes-from-roles', 'keycloak', options.scopesFromRoles],
    ['--hash-key', 'firebase', options.hashKey],
    ['--salt-separator', 'firebase', options.saltSeparator],
    ['--rounds', 'firebase', options.rounds],
    ['--mem-cost', 'firebase', options.memCost],
  ];
  for (const [flag, owner, value] of owned) {
    if (value !== undefined && value !== false && source !== owner) throw new UsageError(`${flag} is for --from ${owner}`);
  }
}

function readRecords(
  file: string,
  text: string,
  source: SourceName,
  options: ImportOptions,
): { records: readonly SourceRecord[]; notes: readonly string[] } {
  const format = fileFormat(file, source, options.format);
  try {
    return IMPORT_SOURCES[source].read(text, {
      ...(format === undefined ? {} : { format }),
      nowMs: systemClock.now(),
      adminFromStaff: options.adminFromStaff === true,
      scopesFromRoles: options.scopesFromRoles === true,
      ...(source === 'firebase' ? { firebase: firebaseConfig(options) } : {}),
    });
  } catch (error) {
    if (error instanceof ImportFileError) throw new UsageError(error.message);
    throw error;
  }
}

function printCosts(costs: LoginCostReport): void {
  if (costs.groups.length === 0) return;
  process.stderr.write(
    `Cost of the first login of the imported users, per hash format (measured here; an unknown user's login: ${costs.unknownUserMs.toFixed(1)} ms):\n`,
  );
  for (const group of costs.groups) {
    const warning = group.aboveBound
      ? ` warning: above the enumeration bound (${ENUMERATION_BOUND}x): until their first login, a wrong password for these users answers more slowly than for an unknown user (docs/SECURITY.md#enumeration-resistance)`
      : '';
    process.stderr.write(`  ${group.label}: ${group.users} user(s), ${group.ms.toFixed(1)} ms (${group.ratio.toFixed(1)}x)${warning}\n`);
  }
  if (costs.unmeasured > 0) process.stderr.write(`  and ${costs.unmeasured} more format(s) or parameter sets, not measured\n`);
}

function summaryLine(report: ImportReport, dryRun: boolean): string {
  const counts = `imported ${report.imported} / updated ${report.updated} / skipped ${report.skipped} / rejected ${report.rejected.length} / weak ${report.weak}`;
  return dryRun
    ? `Dry run, nothing written: would be ${counts} (of ${report.total} record(s))`
    : `Summary: ${counts} (of ${report.total} record(s))`;
}

const PLAN_WORDS = { create: 'import', update: 'update', skip: 'skip (exists)' } as const;

export async function importUsersCommand(file: string, options: ImportOptions): Promise<number> {
  const source = sourceName(options.from);
  checkSourceFlags(source, options);
  let scopes: string[] = [];
  try {
    scopes = options.scopes === undefined ? [] : parseScopeList(options.scopes);
  } catch (error) {
    throw new UsageError(`--scopes: ${(error as Error).message}`);
  }
  const allowWeak = options.allowWeak === true;
  const dryRun = options.dryRun === true;
  if (allowWeak) process.stderr.write(`${ALLOW_WEAK_WARNING}\n`);
  const text = await readImportFile(file);
  const { records, notes } = readRecords(file, text, source, options);
  process.stderr.write(`Read ${records.length} record(s) from ${file} (--from ${source})\n`);
  for (const note of notes) process.stderr.write(`note: ${note}\n`);

  const { report, costs } = await withUserAdmin(async ({ storage, audit, hasher, invalidation }) => {
    const result = await importUsers(storage.users, systemClock, records, {
      skipInvalid: options.skipInvalid === true,
      allowWeak,
      scopes,
      update: options.update === true,
      dryRun,
      onProgress: (done, total) => process.stderr.write(`  checked ${done}/${total} records\n`),
    });
    for (const id of result.updatedIds) invalidation.userChanged(id);
    if (result.written && result.imported + result.updated > 0) {
      await audit.record({
        type: 'users.imported',
        outcome: 'success',
        actor: CLI.actor,
        details: {
          source,
          imported: result.imported,
          updated: result.updated,
          skipped: result.skipped,
          rejected: result.rejected.length,
          weak: result.weak,
          file: basename(file),
        },
      });
    }
    const kept = new Set(result.planned.filter((row) => row.action !== 'skip').map((row) => row.line));
    const hashes = records.flatMap((record) => ('user' in record && kept.has(record.line) ? [record.user.passwordHash] : []));
    const measured = result.written || dryRun ? await estimateLoginCosts(hasher, hashes) : undefined;
    return { report: result, costs: measured };
  });

  for (const row of report.rejected) {
    // The name comes from the file: quote it, so control characters cannot reach the terminal raw.
    console.error(`  rejected row ${row.line}${row.username ? ` (${JSON.stringify(row.username)})` : ''}: ${row.reason}`);
  }
  if (dryRun) {
    for (const row of report.planned) {
      console.log(
        `  would ${PLAN_WORDS[row.action]} row ${row.line} (${JSON.stringify(row.username)}): ${row.scheme}${row.weak ? ' (weak)' : ''}`,
      );
    }
  }
  if (costs) printCosts(costs);
  if (report.rejected.length > 0 && !options.skipInvalid) {
    console.error(
      `${dryRun ? 'Would import' : 'Imported'} nothing: ${report.rejected.length} of ${report.total} record(s) rejected. Fix them, or pass --skip-invalid to import the other records.`,
    );
    if (!dryRun) return EXIT_FAILURE;
  }
  console.log(summaryLine(report, dryRun));
  if (report.weak > 0) process.stderr.write(`warning: ${report.weak} imported user(s) have a weak hash until their first login\n`);
  return report.rejected.length > 0 && !options.skipInvalid ? EXIT_FAILURE : EXIT_OK;
}
