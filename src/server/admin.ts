/**
 * What the admin commands (users, clients, sessions, audit, keys, migrate) run
 * on: configuration from the environment, the migrated storage and the account
 * services, and, before they exit, the running servers' confirmation of the change.
 */
import type { PortcullisConfig } from './config.js';
import { systemClock } from '../core/clock.js';
import { AuditLog } from '../core/audit/audit-log.js';
import { KeyService } from '../core/keys/key-service.js';
import { Argon2PasswordHasher } from '../core/passwords/password-hasher.js';
import { WorkLimiter } from '../core/passwords/work-limiter.js';
import { SealedBox } from '../core/sealed-box.js';
import { keyStoreAlgorithm } from '../core/tokens/algorithms.js';
import { createAccountServices, type AccountServices } from '../core/account-services.js';
import type { MigrationSummary } from '../storage/sql/migrator.js';
import { openStorage, storageStores, type SqlStorage } from '../storage/sql/open-storage.js';
import { configFromEnv } from './config-from-env.js';
import { CLI } from '../core/action-context.js';
import { PasswordResets } from '../core/passwords/password-reset.js';
import { RateLimits } from '../core/rate-limit/rate-limits.js';
import { openMail } from '../mail/open-mail.js';
import { resetFactors, type FactorReset } from '../core/factors/factor-reset.js';
import { describeError } from './exit-codes.js';

/** How long a command waits for the running servers to confirm its changes (PostgreSQL). */
export const CHANGE_CONFIRM_TIMEOUT_MS = 10_000;

export interface UserAdmin extends AccountServices {
  readonly config: PortcullisConfig;
  readonly storage: SqlStorage;
  /** The hasher the services use (libuv's pool, no hashing threads): for measuring what a login costs. */
  readonly hasher: Argon2PasswordHasher;
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
    return await work({ config, storage, hasher, ...services });
  } finally {
    await confirmChanges(storage);
    await storage.close();
  }
}

/**
 * Runs `work` with the signing keys of the database in DATABASE_URL, confirming the change: the keys
 * of access and ID tokens with an asymmetric ALGORITHM; with an HMAC one (access tokens signed with
 * SECRET_KEY) the RS256 keys of ID and logout tokens.
 */
export async function withKeyAdmin<T>(work: (keys: KeyService) => Promise<T>): Promise<T> {
  const config = configFromEnv(process.env, { secretKeyRequired: true });
  const algorithm = keyStoreAlgorithm(config.algorithm);
  const storage = openStorage(config.database, { dataDir: config.dataDir });
  try {
    await storage.migrate();
    const signing = (await storage.keys.list()).find((key) => key.state === 'current');
    if (signing && signing.algorithm !== algorithm) {
      throw new Error(
        `The keys here are ${algorithm} (ALGORITHM=${config.algorithm}), but the servers on this database sign with ${signing.algorithm}: run this command with ALGORITHM=${signing.algorithm}`,
      );
    }
    const keys = new KeyService(
      storage.keys,
      new SealedBox(config.secretKey, 'signing-key/v1'),
      systemClock,
      {
        algorithm,
        tokenLifetimeMs: (config.accessTokenTtlSeconds + config.clockToleranceSeconds + 60) * 1000,
        jwksMaxAgeMs: config.jwksMaxAgeSeconds * 1000,
        rotationIntervalMs: config.keyRotationDays * 86_400_000,
      },
      new AuditLog(storage.audit, systemClock),
      // Running servers on PostgreSQL hear of it (confirmed below); on SQLite they see the commit.
      async () => storage.bus?.publish({ kind: 'keys' }),
    );
    return await work(keys);
  } finally {
    await confirmChanges(storage);
    await storage.close();
  }
}

/** `portcullis migrate`: the database in DATABASE_URL brought to this version's schema. */
export async function migrateDatabase(): Promise<MigrationSummary> {
  const config = configFromEnv(process.env, { secretKeyRequired: false });
  const storage = openStorage(config.database, { dataDir: config.dataDir });
  try {
    return await storage.migrate();
  } finally {
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

/**
 * `portcullis users reset-password NAME`: a reset token and its mail for the user, queued in the
 * outbox for the running servers to send (MailUnavailableError where no transport is configured
 * in production). Returns the address.
 */
export async function queueResetMail(admin: UserAdmin, username: string): Promise<string> {
  const { config, storage } = admin;
  const user = await admin.users.get(username);
  const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const channel = openMail({ config: config.mail, production: config.production, store: storage.outbox, clock: systemClock, log: silent });
  try {
    const resets = new PasswordResets({
      users: storage.users,
      userService: admin.users,
      store: storage.mailTokens,
      mailer: channel.mailer,
      rateLimits: new RateLimits({ limiter: undefined, settings: config.abuse, audit: admin.audit, users: storage.users }),
      audit: admin.audit,
      clock: systemClock,
      ttlMinutes: config.passwordResetTtlMinutes,
      mailsPerHour: config.passwordResetMailsPerHour,
      onError: () => undefined,
    });
    return await resets.sendTo(user, CLI);
  } finally {
    await channel.close();
  }
}

/**
 * `portcullis users reset-factors NAME`: removes the user's second factors and recovery codes (audited,
 * actor `cli`), and queues the `factors_reset` notice for the running servers to send when the user has
 * an address and a transport is configured. Says what was done.
 */
export async function resetUserFactors(admin: UserAdmin, username: string): Promise<FactorReset> {
  const { config, storage } = admin;
  const user = await admin.users.get(username);
  const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const channel = openMail({ config: config.mail, production: config.production, store: storage.outbox, clock: systemClock, log: silent });
  try {
    return await resetFactors({ store: storage.factors, audit: admin.audit, mailer: channel.mailer }, user, CLI);
  } finally {
    await channel.close();
  }
}
