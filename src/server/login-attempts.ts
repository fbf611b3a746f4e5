/**
 * The login backoff's bookkeeping for the server: in-process by default; with
 * REDIS_URL, in Redis (shared by the instances) with the in-process store
 * behind it for outages, each outage logged once (and its end).
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import type { PortcullisConfig } from './config.js';
import type { LoginAttemptStore } from '../core/ports.js';
import { MemoryLoginAttemptStore } from '../storage/memory/memory-login-attempt-store.js';
import { createRedisClient } from '../storage/redis/redis-client.js';
import { FallbackLoginAttemptStore } from '../storage/redis/fallback-login-attempt-store.js';
import { RedisLoginAttemptStore } from '../storage/redis/redis-login-attempt-store.js';

export interface LoginAttemptsWiring {
  readonly store: LoginAttemptStore;
  /** Closes the Redis connection if this opened it. */
  close(): Promise<void>;
}

export interface LoginAttemptsOptions {
  /** A connection to share (it stays the caller's to close); otherwise one is opened from REDIS_URL. */
  readonly redis?: Redis;
  /** Asked at each outage, so it can be the app's logger once there is one. */
  readonly log: () => FastifyBaseLogger | undefined;
}

export async function openLoginAttempts(config: PortcullisConfig, options: LoginAttemptsOptions): Promise<LoginAttemptsWiring> {
  const memory = new MemoryLoginAttemptStore();
  if (config.redisUrl === undefined && options.redis === undefined) return { store: memory, close: async () => undefined };
  const owned = options.redis === undefined;
  const redis = options.redis ?? createRedisClient(config.redisUrl!, { commandTimeoutMs: config.redisCommandTimeoutMs });
  const store = new FallbackLoginAttemptStore(new RedisLoginAttemptStore(redis, { keyPrefix: `${config.redisKeyPrefix}login:` }), memory, {
    onOutage: (error) =>
      options.log()?.warn({ err: error }, 'Redis unavailable: login backoff and spraying counts are kept in-process until it is back'),
    onRecovery: () => options.log()?.info('Redis reachable again: login backoff state is shared again'),
  });
  if (owned) {
    // Down at start is an outage like any other: the fallback serves, and ioredis keeps reconnecting.
    await redis.connect().catch(() => undefined);
  }
  return {
    store,
    async close() {
      if (!owned) return;
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    },
  };
}
