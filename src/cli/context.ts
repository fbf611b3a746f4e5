/** What the CLI commands share: configuration from the environment, and opening storage for user management. */
import { loadConfig, type Config } from '../core/config.js';
import { systemClock } from '../core/clock.js';
import { Argon2PasswordHasher } from '../core/passwords/password-hasher.js';
import { WorkLimiter } from '../core/passwords/work-limiter.js';
import { createAccountServices, type AccountServices } from '../core/account-services.js';
import { openStorage, storageStores, type SqlStorage } from '../storage/sql/open-storage.js';
import { loadOrCreateSecretKey } from './secret-key-file.js';

/** Exit codes: 0 ok, 1 usage, 2 failure. */
export { describeError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit-codes.js';

export function configFromEnv(env: NodeJS.ProcessEnv, options: { secretKeyRequired: boolean }): Config {
  return loadConfig(env, { fallbackSecretKey: loadOrCreateSecretKey, secretKeyRequired: options.secretKeyRequired });
}

export interface UserAdmin extends AccountServices {
  readonly config: Config;
  readonly storage: SqlStorage;
}

/** Runs `work` with migrated storage and a UserService, closing the database afterwards. */
export async function withUserAdmin<T>(work: (admin: UserAdmin) => Promise<T>): Promise<T> {
  const config = configFromEnv(process.env, { secretKeyRequired: false });
  const storage = openStorage(config.database, { dataDir: config.dataDir });
  try {
    await storage.migrate();
    // Commands hash one password at a time, so the wait bound only matters if that ever changes.
    const limiter = new WorkLimiter(config.hashConcurrency, 1_000, { maxWaitMs: config.abuse.hashMaxWaitMs });
    const hasher = new Argon2PasswordHasher(config.argon2, limiter);
    const services = createAccountServices(config, storageStores(storage), hasher, systemClock);
    return await work({ config, storage, ...services });
  } finally {
    await storage.close();
  }
}
