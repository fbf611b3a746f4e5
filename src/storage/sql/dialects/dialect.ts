import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';

/** What a driver error means to core; undefined = unexpected, let it surface. */
export type DriverErrorKind = 'unique_violation' | 'unavailable';

/**
 * What truly differs between databases. Stores are written once against
 * Kysely<Database> and never branch on the dialect; they ask it instead.
 */
export interface SqlDialect {
  readonly name: string;
  readonly db: Kysely<Database>;
  classifyError(error: unknown): DriverErrorKind | undefined;
  /** A number that changes when another connection or process commits (for cache invalidation). Cheap, synchronous. */
  externalChangeVersion(): number;
  close(): Promise<void>;
}
