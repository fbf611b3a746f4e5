/**
 * A Redis connection for state shared by instances. It fails fast instead of
 * queueing: no offline queue, no retries of a command, a short command
 * timeout, so a Redis outage costs a request milliseconds (and the caller
 * falls back) rather than hanging it. It reconnects in the background.
 */
import { Redis } from 'ioredis';

export interface RedisClientOptions {
  /** Longest wait for one command; default 200 ms. */
  readonly commandTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
}

/** Not yet connected: call `connect()` (it rejects when Redis is down, and reconnecting goes on). */
export function createRedisClient(url: string, options: RedisClientOptions = {}): Redis {
  const redis = new Redis(url, {
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
