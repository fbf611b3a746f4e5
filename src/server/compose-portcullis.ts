/**
 * The one composition of a running Portcullis: storage (checked and migrated),
 * the hashing pool, Redis when configured, the abuse defences, core, and the
 * signing-key housekeeping. `portcullis serve` (server/start-server.ts) puts HTTP in
 * front of it; the library (openPortcullis, the Fastify plugin) hands it to a
 * host application. Both start it here, so they cannot drift apart (ADR 0002).
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { SYSTEM } from '../core/action-context.js';
import { systemClock, type Clock } from '../core/clock.js';
import type { PortcullisConfig } from './config.js';
import { HashThreads, TASKS_PER_THREAD } from '../core/passwords/hash-threads.js';
import { Argon2PasswordHasher } from '../core/passwords/password-hasher.js';
import { WorkLimiter } from '../core/passwords/work-limiter.js';
import { createPortcullis, type Portcullis } from '../core/portcullis.js';
import type { LoginAttemptStore, RateLimiter } from '../core/ports.js';
import { openLoginAttempts, type LoginAttemptsWiring } from './login-attempts.js';
import { createRateLimiter } from './rate-limiter.js';
import { createRedisClient } from '../storage/redis/redis-client.js';
import { openStorage, storageStores, type SqlStorage } from '../storage/sql/open-storage.js';
import { assertNoForeignTables } from './table-conflicts.js';
import { openMail, type MailChannel } from '../mail/open-mail.js';
import type { MailLog } from '../core/outbox/mail-transport.js';
import { createLogoutRelay, type LogoutRelay } from '../core/logout/logout-relay.js';

const KEY_TICK_MS = 60_000;

/**
 * Abuse-defence state kept elsewhere: a cluster worker passes the primary's (over IPC), so
 * the workers count against one set of buckets. The caller owns it (it is never closed here).
 */
export interface SharedAbuseState {
  readonly rateLimiter: RateLimiter;
  readonly loginAttempts: LoginAttemptStore;
}

export interface ComposeOptions {
  /** Asked at each thing worth logging, so it can become the app's logger once there is one. */
  readonly log?: () => FastifyBaseLogger | undefined;
  readonly shared?: SharedAbuseState;
  /** Storage to use instead of opening `config.database` (a host's connection); its close() is called at close. */
  readonly storage?: SqlStorage;
  /**
   * Leave the warm-up hash (the hashing threads' boot and the first measurement of a hash's
   * duration, from which admission control estimates waits) to the caller, who starts it with
   * `warmUp()` when it suits: the standalone server overlaps it with building its HTTP app, or
   * starts it once it listens.
   */
  readonly deferWarmUp?: boolean;
  /** The time core and the in-process rate limits go by; default the system clock (tests fix it). */
  readonly clock?: Clock;
  /** Run a mail relay in this process (default true): every server process does, the lease keeps each message to one. */
  readonly mailRelay?: boolean;
  /** Run a relay of back-channel logout tokens in this process (default true), as the mail relay. */
  readonly logoutRelay?: boolean;
}

export interface ComposedPortcullis {
  readonly portcullis: Portcullis;
  readonly storage: SqlStorage;
  readonly hasher: Argon2PasswordHasher;
  /** The hashing pool's admission control; its stats() are the counters for metrics. */
  readonly hashLimiter: WorkLimiter;
  /** The login backoff's bookkeeping (in-process, or Redis with an in-process fallback). */
  readonly loginAttempts: LoginAttemptStore;
  /** The mail channel: the mailer (and its `available` flag), the relay sending the outbox (ADR 0022). */
  readonly mail: MailChannel;
  /** Sends back-channel logout tokens (core/logout/); its events and `drained()` let a test wait for them. */
  readonly logoutRelay: LogoutRelay;
  /** Starts the warm-up hash (once; done already unless `deferWarmUp`); rejects if hashing cannot start. */
  warmUp(): Promise<void>;
  /** Stops the key housekeeping, closes the storage, the login-attempt store and Redis. Idempotent. */
  close(): Promise<void>;
}

export async function composePortcullis(config: PortcullisConfig, options: ComposeOptions = {}): Promise<ComposedPortcullis> {
  const log = options.log ?? (() => undefined);
  const storage =
    options.storage ??
    openStorage(config.database, {
      sqliteSynchronous: config.sqliteSynchronous,
      sqliteGroupCommit: config.sqliteGroupCommit,
      dataDir: config.dataDir,
      onBusProblem: (message, error) => (error === undefined ? log()?.info(message) : log()?.warn({ err: error }, message)),
    });
  let loginAttempts: LoginAttemptsWiring | undefined;
  let mail: MailChannel | undefined;
  let redis: Redis | undefined;
  const hashThreads = new HashThreads(config.hashConcurrency, config.hashThreadNice);
  // Unless the caller warms up later: the threads boot while the database is checked and migrated.
  if (!options.deferWarmUp) hashThreads.start();
  try {
    await assertNoForeignTables(storage.dialect);
    await storage.migrate();
    mail = openMail({
      config: config.mail,
      production: config.production,
      store: storage.outbox,
      tokens: storage.mailTokens,
      clock: options.clock ?? systemClock,
      log: mailLog(log),
    });
    // Each thread holds the hash it runs and the next one (hash-threads.ts).
    const hashLimiter = new WorkLimiter(config.hashConcurrency * TASKS_PER_THREAD, config.hashQueueLimit, {
      maxWaitMs: config.abuse.hashMaxWaitMs,
    });
    const hasher = new Argon2PasswordHasher(config.argon2, hashLimiter, hashThreads);
    // Also the first measurement of a hash's duration, from which admission estimates waits.
    let warmedUp: Promise<void> | undefined;
    const warmUp = (): Promise<void> => (warmedUp ??= hasher.warmUp());
    if (!options.deferWarmUp) await warmUp();
    // One Redis connection for the state instances share. Down at start is an outage like any
    // other: the in-process fallbacks serve, and ioredis keeps reconnecting.
    if (config.redisUrl !== undefined) {
      redis = createRedisClient(config.redisUrl, { commandTimeoutMs: config.redisCommandTimeoutMs });
      await redis
        .connect()
        .catch((error: unknown) => log()?.warn({ err: error }, 'Redis unreachable at start; state is kept in-process until it answers'));
    }
    const shared = options.shared;
    loginAttempts = shared
      ? { store: shared.loginAttempts, close: async () => undefined }
      : await openLoginAttempts(config, { log, ...(redis ? { redis } : {}) });
    const portcullis = createPortcullis({
      config,
      stores: storageStores(storage),
      hasher,
      loginAttempts: loginAttempts.store,
      rateLimiter: shared?.rateLimiter ?? createRateLimiter(redis, log, config.redisKeyPrefix, options.clock),
      mailer: mail.mailer,
      onBackgroundError: (error, message) => log()?.error({ err: error }, message),
      ...(options.clock ? { clock: options.clock } : {}),
    });
    await portcullis.start();
    // Key housekeeping: retired keys leave the JWKS once their tokens expired; scheduled rotation.
    const keyTimer = setInterval(() => {
      portcullis.keys.tick(SYSTEM).catch((error: unknown) => log()?.error({ err: error }, 'signing key housekeeping failed'));
    }, KEY_TICK_MS);
    keyTimer.unref();
    if (options.mailRelay ?? true) mail.start();
    const logout = createLogoutRelay({
      store: storage.logoutDeliveries,
      signer: portcullis.idTokens,
      issuer: config.issuer,
      clock: options.clock ?? systemClock,
      audit: portcullis.audit,
      log: mailLog(log),
    });
    if (options.logoutRelay ?? true) logout.relay.start();
    const attempts = loginAttempts;
    const channel = mail;
    let closing: Promise<void> | undefined;
    return {
      portcullis,
      storage,
      hasher,
      hashLimiter,
      loginAttempts: loginAttempts.store,
      mail: channel,
      logoutRelay: logout.relay,
      warmUp,
      close() {
        clearInterval(keyTimer);
        // Password reset and sign-in link requests in hand write their mails first; then the relay settles the messages in
        // hand, while the database is still open.
        closing ??= Promise.all([portcullis.passwordResets.settled(), portcullis.signInLinks.settled()])
          .then(() => {
            logout.stopWaking();
            return Promise.all([channel.close(), logout.relay.close()]);
          })
          .then(() => Promise.all([storage.close(), attempts.close(), hashThreads.close()]))
          .then(() => closeRedis(redis));
        return closing;
      },
    };
  } catch (error) {
    await mail?.close();
    await Promise.allSettled([storage.close(), loginAttempts?.close(), hashThreads.close()]);
    await closeRedis(redis);
    throw error;
  }
}

async function closeRedis(redis: Redis | undefined): Promise<void> {
  if (redis === undefined) return;
  if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
  else redis.disconnect();
}

/** The mail channel's log: the app's logger once there is one. */
function mailLog(log: () => FastifyBaseLogger | undefined): MailLog {
  return {
    info: (details, message) => log()?.info(details, message),
    warn: (details, message) => log()?.warn(details, message),
    error: (details, message) => log()?.error(details, message),
  };
}
