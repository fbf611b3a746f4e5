/** What the CLI commands share: configuration from the environment, and opening storage for user management. */
import { loadConfig, type Config } from '../core/config.js';
import { SETTING_NAMES } from '../core/settings.js';
import { describeLookAlike, findLookAlikeSettings, type LookAlikeSetting } from '../core/setting-look-alikes.js';
import { systemClock } from '../core/clock.js';
import { Argon2PasswordHasher } from '../core/passwords/password-hasher.js';
import { WorkLimiter } from '../core/passwords/work-limiter.js';
import { createAccountServices, type AccountServices } from '../core/account-services.js';
import { openStorage, storageStores, type SqlStorage } from '../storage/sql/open-storage.js';
import { loadOrCreateSecretKey } from './secret-key-file.js';
import { describeError } from './exit-codes.js';

/** How long a command waits for the running servers to confirm its changes (PostgreSQL). */
export const CHANGE_CONFIRM_TIMEOUT_MS = 10_000;

/** Exit codes: 0 ok, 1 usage, 2 failure. */
export { describeError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit-codes.js';

export interface CliConfig {
  readonly config: Config;
  /** Variables in the environment that look like misspelt settings (setting-look-alikes.ts). */
  readonly lookAlikes: readonly LookAlikeSetting[];
}

/** Configuration from the environment, and the variables there that look like a setting but are none. */
export function loadCliConfig(env: NodeJS.ProcessEnv, options: { secretKeyRequired: boolean }): CliConfig {
  const config = loadConfig(env, { fallbackSecretKey: loadOrCreateSecretKey, secretKeyRequired: options.secretKeyRequired });
  return { config, lookAlikes: findLookAlikeSettings(Object.keys(env), SETTING_NAMES) };
}

/** For the commands other than `serve` (which logs them): look-alike settings are warned about on stderr. */
export function configFromEnv(env: NodeJS.ProcessEnv, options: { secretKeyRequired: boolean }): Config {
  const { config, lookAlikes } = loadCliConfig(env, options);
  for (const lookAlike of lookAlikes) console.error(`portcullis: warning: ${describeLookAlike(lookAlike)}`);
  return config;
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
    await confirmChanges(storage);
    await storage.close();
  }
}

/**
 * Before a command exits: on PostgreSQL, waits until every running server (every process listening
 * on the change bus) has applied what this command changed, so that a request sent after the
 * command returns is answered with the change in effect; says so on stderr when some did not
 * confirm in time. On SQLite there is nothing to wait for: servers see the commit on their next
 * request (data_version).
 */
export async function confirmChanges(storage: SqlStorage): Promise<void> {
  if (!storage.bus) return;
  try {
    const { listening, confirmed } = await storage.bus.confirm(CHANGE_CONFIRM_TIMEOUT_MS);
    if (confirmed < listening) {
      console.error(
        `warning: ${listening - confirmed} of ${listening} running Portcullis processes did not confirm within ${CHANGE_CONFIRM_TIMEOUT_MS / 1000} s ` +
          'that they applied this change; each applies it when it hears of it (one that cannot hear reads the database on every request).',
      );
    }
  } catch (error) {
    console.error(`warning: could not confirm that the running servers applied this change: ${describeError(error)}`);
  }
}
