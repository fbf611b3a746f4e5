import type { ColumnDataType, Expression, Kysely } from 'kysely';
import type { Database } from '../schema.js';

/** What a driver error means to core; undefined = unexpected, let it surface. */
export type DriverErrorKind = 'unique_violation' | 'unavailable';

/** Column types that migrations ask the dialect for, so one migration serves every database. */
export interface ColumnTypes {
  /**
   * Text that is compared and sorted by code point, as SQLite does: keys, ids,
   * ISO timestamps (PostgreSQL's default collation would sort by locale rules
   * and break prefix ranges and cursors).
   */
  readonly text: ColumnDataType | Expression<unknown>;
}

/**
 * What truly differs between databases. Stores are written once against
 * Kysely<Database> and never branch on the dialect; they ask it instead.
 */
export interface SqlDialect {
  readonly name: 'sqlite' | 'postgres';
  readonly db: Kysely<Database>;
  readonly columnTypes: ColumnTypes;
  /**
   * Whether SELECT ... FOR UPDATE SKIP LOCKED works (PostgreSQL): concurrent outbox claims then
   * pass over each other's rows instead of waiting. SQLite serialises writes and has no row locks.
   */
  readonly skipsLockedRows: boolean;
  classifyError(error: unknown): DriverErrorKind | undefined;
  /**
   * A number that changes when another connection or process commits (for
   * cache invalidation). Cheap, synchronous. undefined: this database cannot
   * tell (a server shared by instances), so a cache must not trust what it
   * holds unless a change bus tells it what changed.
   */
  externalChangeVersion(): number | undefined;
  close(): Promise<void>;
}
