import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { redisSkipReason, TEST_REDIS_URL } from '../../../test/helpers/redis.js';
import { FallbackRateLimiter } from '../../core/rate-limit/fallback-rate-limiter.js';
import { rateLimiterContract } from '../contract/rate-limiter-contract.js';
import { MemoryRateLimiter } from '../memory/memory-rate-limiter.js';
import { createRedisClient } from './redis-client.js';
import { RATE_LIMIT_KEY_PREFIX, RedisRateLimiter } from './redis-rate-limiter.js';

const skip = await redisSkipReason();

async function connected(url = TEST_REDIS_URL): Promise<Redis> {
  const redis = createRedisClient(url, { commandTimeoutMs: 5000 });
  await redis.connect();
  return redis;
}

rateLimiterContract(
  'RedisRateLimiter',
  async () => {
    const redis = await connected();
    return { limiter: new RedisRateLimiter(redis), close: async () => void (await redis.quit()) };
  },
  { skip },
);

describe('RedisRateLimiter', { skip }, () => {
  let redis: Redis;
  let other: Redis;
  before(async () => {
    redis = await connected();
    other = await connected();
  });
  after(async () => {
    await redis?.quit();
    await other?.quit();
  });

  it('keeps a bucket under portcullis:rl: that expires once it would have refilled', async () => {
    const key = `test:${randomUUID()}`;
    await new RedisRateLimiter(redis).consume(key, { perMinute: 60, burst: 5 }, 3);
    const ttlMs = await redis.pttl(`${RATE_LIMIT_KEY_PREFIX}${key}`);
    assert.ok(ttlMs > 2000 && ttlMs <= 4000, `ttl ${ttlMs} ms: 3 s to refill, plus a second`);
  });

  it('shares a bucket between connections (instances)', async () => {
    const key = `test:${randomUUID()}`;
    const bucket = { perMinute: 1, burst: 2 };
    assert.equal((await new RedisRateLimiter(redis).consume(key, bucket)).allowed, true);
    assert.equal((await new RedisRateLimiter(other).consume(key, bucket)).allowed, true);
    assert.equal((await new RedisRateLimiter(redis).consume(key, bucket)).allowed, false);
  });

  it("counts on the Redis server's clock, not the instance's", async () => {
    const key = `test:${randomUUID()}`;
    const full = `${RATE_LIMIT_KEY_PREFIX}${key}`;
    // A bucket last touched an hour from now (a server clock that stepped back): nothing refills until then.
    await redis.hset(full, 'tokens', '0', 'updated', String(Date.now() + 3_600_000));
    await redis.pexpire(full, 60_000);
    assert.equal((await new RedisRateLimiter(redis).consume(key, { perMinute: 60_000, burst: 5 })).allowed, false);
  });
});

describe('Redis rate limiter falling back to memory', () => {
  /** Answers the connection's ready check (INFO), then nothing: a Redis that hangs. */
  let hung: Server;
  const sockets = new Set<Socket>();
  before(async () => {
    hung = createServer((socket) => {
      sockets.add(socket);
      socket.on('data', (data) => {
        if (data.toString().toUpperCase().includes('INFO')) socket.write('$0\r\n\r\n');
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => hung.close(() => resolve()));
  });

  for (const [label, url] of [
    ['refuses connections', () => 'redis://127.0.0.1:1'],
    ['hangs', () => `redis://127.0.0.1:${(hung.address() as AddressInfo).port}`],
  ] as const) {
    it(`answers from memory at once when Redis ${label}, and reports the outage once`, async () => {
      const redis = createRedisClient(url());
      await redis.connect().catch(() => undefined);
      const outages: unknown[] = [];
      const limiter = new FallbackRateLimiter(new RedisRateLimiter(redis), new MemoryRateLimiter(), {
        onOutage: (error) => outages.push(error),
        onRecovery: () => assert.fail('no recovery expected'),
      });
      try {
        const bucket = { perMinute: 1, burst: 3 };
        const started = performance.now();
        const decisions = [];
        for (let i = 0; i < 20; i += 1) decisions.push(await limiter.consume('k', bucket));
        const elapsedMs = performance.now() - started;
        assert.deepEqual(
          decisions.map((d) => d.allowed),
          [true, true, true, ...new Array<boolean>(17).fill(false)],
        );
        assert.equal(outages.length, 1);
        // One command timeout (200 ms) at most; then the fallback until the next probe. Each waiting
        // for a timeout would take 20 x 200 ms = 4 s: half of that tells them apart on a loaded machine.
        assert.ok(elapsedMs < 2_000, `20 requests took ${Math.round(elapsedMs)} ms`);
        assert.equal(limiter.degraded, true);
      } finally {
        redis.disconnect();
      }
    });
  }
});
