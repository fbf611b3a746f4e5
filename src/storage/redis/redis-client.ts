/**
 * A Redis connection for state shared by instances. It fails fast instead of
 * queueing: no offline queue, no retries of a command, a short command
 * timeout, so a Redis outage costs a request milliseconds (and the caller
 * falls back) rather than hanging it. It reconnects in the background (ADR 0010).
 */
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';

// Loaded the first time a connection is made: without REDIS_URL, ioredis is never loaded at all.
const require = createRequire(import.meta.url);
let RedisClass: typeof Redis | undefined;

export interface RedisClientOptions {
  /** Longest wait for one command; default 200 ms. */
  readonly commandTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
}

/** Not yet connected: call `connect()` (it rejects when Redis is down, and reconnecting goes on). */
export function createRedisClient(url: string, options: RedisClientOptions = {}): Redis {
  RedisClass ??= (require('ioredis') as { Redis: typeof Redis }).Redis;
  const redis = new RedisClass(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 200,
    connectTimeout: options.connectTimeoutMs ?? 1000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  });
  // Failed commands reject, and their callers report the outage; an unhandled 'error' event would print to stderr.
  redis.on('error', () => undefined);
  return redis;
}
