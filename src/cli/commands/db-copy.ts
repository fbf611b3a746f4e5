/**
 * `portcullis db copy --from URL --to URL`: the options parsed and the progress
 * and counts printed here; the copy itself is the server's (src/server/db-copy.ts).
 * A database is printed as its kind, host and name only, never with its
 * password, and no row is ever printed.
 */
import { copyDatabase, describeLocation, planCopy, type CopyProgress } from '../../server/db-copy.js';
import { EXIT_OK } from '../../server/exit-codes.js';
import { integerOption } from '../options.js';
import { UsageError } from '../prompt.js';
import { printTable } from '../table.js';

export interface DbCopyOptions {
  readonly from: string;
  readonly to: string;
  readonly batchSize?: string;
}

const DEFAULT_BATCH_SIZE = 1000;
/** A progress line at least this often (rows) while a table is copied, or after this long, whichever comes first. */
const PROGRESS_EVERY_ROWS = 5000;
const PROGRESS_EVERY_MS = 1000;

export async function dbCopyCommand(options: DbCopyOptions): Promise<number> {
  const batchSize = integerOption(options.batchSize, '--batch-size', 1, 100_000) ?? DEFAULT_BATCH_SIZE;
  const plan = planCopy(options.from, options.to, process.env);
  if (plan.problem !== undefined) throw new UsageError(plan.problem);
  const { from, to } = plan;

  console.error(
    `Copying ${describeLocation(from)} to ${describeLocation(to)} in batches of ${batchSize} ${batchSize === 1 ? 'row' : 'rows'}`,
  );
  const counts = await copyDatabase(from, to, { batchSize, onProgress: progressPrinter(), onNote: (note) => console.error(note) });

  printTable(
    ['table', 'rows copied'],
    [...counts.map(({ table, rows }) => [table, String(rows)]), ['total', String(counts.reduce((sum, { rows }) => sum + rows, 0))]],
  );
  console.log(
    [
      '',
      `Copied ${describeLocation(from)} to ${describeLocation(to)}; every table holds the same number of rows on both sides.`,
      'Signing keys and pending refresh-token successors were copied as they are, sealed under SECRET_KEY:',
      'run Portcullis on the new database with the same SECRET_KEY (or the same DATA_DIR/secret.key if SECRET_KEY is unset).',
      'Next: start Portcullis with DATABASE_URL set to the --to URL.',
    ].join('\n'),
  );
  return EXIT_OK;
}

/** "users: 12000/50000" on stderr: every PROGRESS_EVERY_ROWS rows or PROGRESS_EVERY_MS, and once when a table is done. */
function progressPrinter(now: () => number = Date.now): (progress: CopyProgress) => void {
  let table: string | undefined;
  let printedRows = 0;
  let printedAt = now();
  return (progress) => {
    if (progress.table !== table) {
      table = progress.table;
      printedRows = 0;
      printedAt = now();
    }
    const due = progress.copied - printedRows >= PROGRESS_EVERY_ROWS || now() - printedAt >= PROGRESS_EVERY_MS;
    if (progress.done ? progress.copied === printedRows && printedRows > 0 : !due) return;
    console.error(`${progress.table}: ${progress.copied}/${progress.total}`);
    printedRows = progress.copied;
    printedAt = now();
  };
}
