import { ClientNameTakenError, EmailTakenError, StorageUnavailableError, UsernameTakenError } from '../../core/errors.js';
import type { SqlDialect } from './dialects/dialect.js';

/** The unique columns whose violation is a caller's conflict (409), each with its core error. */
const CONFLICTS = {
  username: { column: 'users.username_key', error: UsernameTakenError },
  verified_email: { column: 'users.email_key', error: EmailTakenError },
  client_name: { column: 'clients.name', error: ClientNameTakenError },
} as const;

export type UniqueConflict = keyof typeof CONFLICTS;

/**
 * The one place driver errors become core errors. `conflicts` name the unique columns whose
 * violation the calling operation reports as a conflict (a username or client name already
 * taken); any other unique violation (a duplicate id, an audit event written twice) is a bug,
 * not the caller's mistake, and surfaces as the driver raised it.
 */
export async function guardDriverErrors<T>(
  dialect: SqlDialect,
  operation: () => Promise<T>,
  ...conflicts: readonly UniqueConflict[]
): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    switch (dialect.classifyError(error)) {
      case 'unique_violation': {
        const columns = violatedColumns(error);
        const expected = conflicts.map((conflict) => CONFLICTS[conflict]).find(({ column }) => columns.includes(column));
        if (expected) throw new expected.error({ cause: error });
        throw error;
      }
      case 'unavailable':
        throw new StorageUnavailableError({ cause: error });
      default:
        throw error;
    }
  }
}

/**
 * The `table.column`s a unique violation names: SQLite says them in its message
 * ("UNIQUE constraint failed: users.username_key"); pg gives the table and, in the
 * detail, the key ("Key (username_key)=(alice) already exists.").
 */
export function violatedColumns(error: unknown): string[] {
  if (!(error instanceof Error)) return [];
  const { table, detail } = error as { table?: unknown; detail?: unknown };
  if (typeof table === 'string' && typeof detail === 'string') {
    const key = /^Key \(([^)]*)\)=/.exec(detail)?.[1];
    return key === undefined ? [] : key.split(',').map((column) => `${table}.${column.trim()}`);
  }
  const listed = /UNIQUE constraint failed: (.*)$/.exec(error.message)?.[1];
  return listed === undefined ? [] : listed.split(',').map((column) => column.trim());
}
