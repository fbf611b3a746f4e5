/**
 * Redis for the tests: the one on 127.0.0.1:6379 unless TEST_REDIS_URL says
 * otherwise. Tests that need it skip, saying why, when it does not answer;
 * under CI=true they fail instead, so CI cannot pass without running them.
 */
import assert from 'node:assert/strict';
import { createRedisClient } from '../../src/storage/redis/redis-client.js';
import { RATE_LIMIT_KEY_PREFIX } from '../../src/storage/redis/redis-rate-limiter.js';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';

/** undefined when Redis answers; otherwise the reason to skip. Throws under CI=true. */
export async function redisSkipReason(url = TEST_REDIS_URL): Promise<string | undefined> {
  const redis = createRedisClient(url, { connectTimeoutMs: 1000 });
  try {
    await redis.connect();
    await redis.ping();
    return undefined;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    if (process.env.CI === 'true') throw new Error(`Redis at ${url} is not reachable, and CI=true requires the Redis tests: ${why}`);
    return `Redis at ${url} is not reachable (${why}); start it or set TEST_REDIS_URL to run these tests`;
  } finally {
    redis.disconnect();
  }
}

/**
 * Moves a rate-limit bucket's last update `ms` into the past, as if that much time had gone by for
 * it: the limiter counts on the Redis server's clock (TIME), which a test cannot set. `key` as the
 * limiter names it (`ip:203.0.113.7`), under the default REDIS_KEY_PREFIX.
 */
export async function ageRedisBucket(key: string, ms: number): Promise<void> {
  const redis = createRedisClient(TEST_REDIS_URL, { commandTimeoutMs: 5000 });
  try {
    await redis.connect();
    const bucket = `${RATE_LIMIT_KEY_PREFIX}${key}`;
    assert.equal(await redis.hexists(bucket, 'updated'), 1, `no rate-limit bucket ${bucket} in Redis`);
    await redis.hincrby(bucket, 'updated', -ms);
  } finally {
    redis.disconnect();
  }
}
