import { ClientNameTakenError, StorageUnavailableError, UsernameTakenError } from '../../core/errors.js';
import type { SqlDialect } from './dialects/dialect.js';

/**
 * The one place driver errors become core errors. `taken` says which core
 * error a unique violation means for the calling store.
 */
export async function guardDriverErrors<T>(
  dialect: SqlDialect,
  operation: () => Promise<T>,
  taken: 'username' | 'client_name' = 'username',
): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    switch (dialect.classifyError(error)) {
      case 'unique_violation':
        throw taken === 'client_name' ? new ClientNameTakenError({ cause: error }) : new UsernameTakenError({ cause: error });
      case 'unavailable':
        throw new StorageUnavailableError({ cause: error });
      default:
        throw error;
    }
  }
}
