/**
 * The Redis login store against a real Redis (TEST_REDIS_URL, default
 * redis://127.0.0.1:6379). Skipped with a message when Redis is not
 * reachable, except under CI=true, where it must run (test/helpers/redis.ts).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { loginAttemptStoreContract } from '../contract/login-attempt-store-contract.js';
import { MemoryLoginAttemptStore } from '../memory/memory-login-attempt-store.js';
import { FallbackLoginAttemptStore } from './fallback-login-attempt-store.js';
import { redisSkipReason, TEST_REDIS_URL } from '../../../test/helpers/redis.js';
import { createRedisClient } from './redis-client.js';
import { LOGIN_KEY_PREFIX, RedisLoginAttemptStore } from './redis-login-attempt-store.js';

const REDIS_URL = TEST_REDIS_URL;
const skip = await redisSkipReason();

/** Each run under its own prefix; its keys are deleted afterwards. */
async function openRedis(prefix: string): Promise<{ redis: Redis; store: RedisLoginAttemptStore; close(): Promise<void> }> {
  const redis = createRedisClient(REDIS_URL, { commandTimeoutMs: 5000 });
  await redis.connect();
  return {
    redis,
    store: new RedisLoginAttemptStore(redis, { keyPrefix: prefix }),
    async close() {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    },
  };
}

loginAttemptStoreContract('RedisLoginAttemptStore', () => openRedis(`${LOGIN_KEY_PREFIX}test-${randomUUID()}:`), { skip });

describe('RedisLoginAttemptStore keys', { skip: skip ?? false }, () => {
  const prefix = `${LOGIN_KEY_PREFIX}test-${randomUUID()}:`;
  let harness: Awaited<ReturnType<typeof openRedis>>;
  before(async () => {
    harness = await openRedis(prefix);
  });
  after(() => harness?.close());

  it('puts every record under the prefix, each with a TTL', async () => {
    const { redis, store } = harness;
    const now = Date.now();
    await store.recordFailure({
      pairKey: 'pair',
      sourceKey: 'source',
      accountKey: 'acct',
      nowMs: now,
      pairTtlMs: 90_000,
      sprayWindowMs: 3_600_000,
    });
    await store.claimOnce('claim', now, 60_000);
    const keys = (await redis.keys(`${prefix}*`)).sort();
    assert.deepEqual(keys, [`${prefix}c:claim`, `${prefix}f:pair`, `${prefix}s:source`]);
    for (const key of keys) {
      const ttl = await redis.pttl(key);
      assert.ok(ttl > 0 && ttl <= 3_600_000, `${key} ttl ${ttl}`);
    }
    assert.ok((await redis.pttl(`${prefix}f:pair`)) <= 90_000);
  });
});

describe('FallbackLoginAttemptStore over an unreachable Redis', () => {
  it('keeps counting in memory and reports the outage once', async () => {
    const redis = createRedisClient('redis://127.0.0.1:1', { connectTimeoutMs: 200 });
    await redis.connect().catch(() => undefined);
    const events: string[] = [];
    const store = new FallbackLoginAttemptStore(new RedisLoginAttemptStore(redis), new MemoryLoginAttemptStore(), {
      onOutage: () => events.push('outage'),
      onRecovery: () => events.push('recovery'),
    });
    try {
      const now = Date.now();
      for (let i = 0; i < 3; i += 1) {
        await store.recordFailure({ pairKey: 'p', sourceKey: 's', accountKey: 'a', nowMs: now, pairTtlMs: 60_000, sprayWindowMs: 60_000 });
      }
      assert.equal((await store.inspect('p', 's', now, 60_000)).failures?.count, 3);
      assert.equal(store.degraded, true);
      assert.deepEqual(events, ['outage']);
    } finally {
      redis.disconnect();
    }
  });
});
