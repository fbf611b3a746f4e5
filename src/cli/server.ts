/**
 * Wires the server together: storage (migrated), hasher, core, HTTP. Used by
 * `portcullis serve` and by the end-to-end tests, so both start it the same way.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from '../core/config.js';
import { Argon2PasswordHasher } from '../core/passwords/password-hasher.js';
import { WorkLimiter } from '../core/passwords/work-limiter.js';
import { createPortcullis, type Portcullis } from '../core/portcullis.js';
import { buildApp } from '../http/app.js';
import type { LoginAttemptStore, RateLimiter } from '../core/ports.js';
import { openLoginAttempts, type LoginAttemptsWiring } from './login-attempts.js';
import { createRateLimiter } from './rate-limiter.js';
import { createRedisClient } from '../storage/redis/redis-client.js';
import type { Redis } from 'ioredis';
import { SYSTEM } from '../core/action-context.js';

const KEY_TICK_MS = 60_000;
import { openStorage, storageStores, type SqlStorage } from '../storage/sql/open-storage.js';

export interface RunningServer {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly portcullis: Portcullis;
  readonly storage: SqlStorage;
  /** The hashing pool's admission control; its stats() are the counters for metrics. */
  readonly hashLimiter: WorkLimiter;
  /** The login backoff's bookkeeping (in-process, or Redis with an in-process fallback). */
  readonly loginAttempts: LoginAttemptStore;
  /** Stops accepting, lets in-flight requests finish, closes the database. */
  close(): Promise<void>;
}

/**
 * Abuse-defence state kept elsewhere: a cluster worker passes the primary's (over IPC), so
 * the workers count against one set of buckets. The caller owns it (startServer never closes it).
 */
export interface SharedAbuseState {
  readonly rateLimiter: RateLimiter;
  readonly loginAttempts: LoginAttemptStore;
}

export async function startServer(config: Config, logger?: FastifyBaseLogger, shared?: SharedAbuseState): Promise<RunningServer> {
  let log: FastifyBaseLogger | undefined = logger;
  const storage = openStorage(config.database, {
    onBusProblem: (message, error) => (error === undefined ? log?.info(message) : log?.warn({ err: error }, message)),
  });
  let loginAttempts: LoginAttemptsWiring | undefined;
  let redis: Redis | undefined;
  try {
    await storage.migrate();
    const hashLimiter = new WorkLimiter(config.hashConcurrency, config.hashQueueLimit, {
      maxWaitMs: config.abuse.hashMaxWaitMs,
    });
    const hasher = new Argon2PasswordHasher(config.argon2, hashLimiter);
    // Also the first measurement of a hash's duration, from which admission estimates waits.
    await hasher.warmUp();
    // One Redis connection for the state instances share. Down at start is an outage like any
    // other: the in-process fallbacks serve, and ioredis keeps reconnecting.
    if (config.redisUrl !== undefined) {
      redis = createRedisClient(config.redisUrl);
      await redis
        .connect()
        .catch((error: unknown) => log?.warn({ err: error }, 'Redis unreachable at start; state is kept in-process until it answers'));
    }
    loginAttempts = shared
      ? { store: shared.loginAttempts, close: async () => undefined }
      : await openLoginAttempts(config, { log: () => log, ...(redis ? { redis } : {}) });
    const portcullis = createPortcullis({ config, stores: storageStores(storage), hasher, loginAttempts: loginAttempts.store, rateLimiter: shared?.rateLimiter ?? createRateLimiter(redis, () => log, config.redisKeyPrefix) });
    await portcullis.start();
    const app = await buildApp(portcullis, logger ? { logger } : {});
    log = app.log;
    // Key housekeeping: retired keys leave the JWKS once their tokens expired; scheduled rotation.
    const keyTimer = portcullis.keys
      ? setInterval(() => {
          portcullis.keys?.tick(SYSTEM).catch((error: unknown) => app.log.error({ err: error }, 'signing key housekeeping failed'));
        }, KEY_TICK_MS)
      : undefined;
    keyTimer?.unref();
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    let closing: Promise<void> | undefined;
    return {
      url: `http://${host}:${port}`,
      app,
      portcullis,
      storage,
      hashLimiter,
      loginAttempts: loginAttempts.store,
      close() {
        clearInterval(keyTimer);
        const attempts = loginAttempts;
        closing ??= app
          .close()
          .then(() => Promise.all([storage.close(), attempts?.close()]))
          .then(() => closeRedis(redis));
        return closing;
      },
    };
  } catch (error) {
    await storage.close().catch(() => undefined);
    await loginAttempts?.close().catch(() => undefined);
    await closeRedis(redis);
    throw error;
  }
}

async function closeRedis(redis: Redis | undefined): Promise<void> {
  if (redis === undefined) return;
  if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
  else redis.disconnect();
}
