/**
 * The rate limiter for the server: in-process by default; with REDIS_URL,
 * Redis (one bucket per key for all instances) with the in-process limiter
 * behind it, so a Redis outage neither hangs nor fails requests. Each outage
 * is logged once, and its end.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import type { Clock } from '../core/clock.js';
import type { RateLimiter } from '../core/ports.js';
import { FallbackRateLimiter } from '../core/rate-limit/fallback-rate-limiter.js';
import { MemoryRateLimiter } from '../storage/memory/memory-rate-limiter.js';
import { RedisRateLimiter } from '../storage/redis/redis-rate-limiter.js';

/** `log` is asked at each outage, so it can be the app's logger once there is one. `clock`: the in-process buckets' (Redis counts on its own). */
export function createRateLimiter(
  redis: Redis | undefined,
  log: () => FastifyBaseLogger | undefined,
  keyPrefix = 'portcullis:',
  clock?: Clock,
): RateLimiter {
  const memory = new MemoryRateLimiter(clock ? { clock } : {});
  if (redis === undefined) return memory;
  return new FallbackRateLimiter(new RedisRateLimiter(redis, { keyPrefix: `${keyPrefix}rl:` }), memory, {
    onOutage: (error) =>
      log()?.warn({ err: error }, 'Redis unavailable: rate limits are counted in-process, per instance, until it is back'),
    onRecovery: () => log()?.info('Redis reachable again: rate limits are shared again'),
  });
}
