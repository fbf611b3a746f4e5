import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ageRedisBucket, redisSkipReason, TEST_REDIS_URL } from '../helpers/redis.js';
import { from, randomClientIp, revoke, SMALL_IP_LIMITS, tripAndRecover } from '../helpers/rate-limits.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const skip = await redisSkipReason();

describe('rate limits shared through Redis', { skip }, () => {
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    [a, b] = await Promise.all([
      startTestServer({ ...SMALL_IP_LIMITS, REDIS_URL: TEST_REDIS_URL }),
      startTestServer({ ...SMALL_IP_LIMITS, REDIS_URL: TEST_REDIS_URL }),
    ]);
  });
  after(() => Promise.all([a?.stop(), b?.stop()]));

  it('answers the 4th quick request with 429, Retry-After and RateLimit-*, and recovers after the refill time', async () => {
    const ip = randomClientIp();
    await tripAndRecover(a, from(ip), { fixed: false, advance: (ms) => ageRedisBucket(`ip:${ip}`, ms) });
  });

  it('shares one bucket between two servers', async () => {
    const ip = randomClientIp();
    assert.equal((await revoke(a, from(ip))).status, 200);
    assert.equal((await revoke(b, from(ip))).status, 200);
    const third = await revoke(a, from(ip));
    assert.equal(third.status, 200);
    assert.equal(third.headers.get('ratelimit-remaining'), '0');
    assert.equal((await revoke(b, from(ip))).status, 429);
    assert.equal((await revoke(a, from(ip))).status, 429);
  });
});

describe('rate limits with Redis unreachable', () => {
  it('starts, and limits in-process without delaying or failing requests', async () => {
    // Nothing listens on port 1: connections are refused at once. A request that waited for Redis
    // would wait a whole command timeout: five of them take far less than one unless one did.
    const commandTimeoutMs = 10_000;
    const server = await startTestServer({
      ...SMALL_IP_LIMITS,
      REDIS_URL: 'redis://127.0.0.1:1',
      REDIS_COMMAND_TIMEOUT_MS: String(commandTimeoutMs),
    });
    try {
      const ip = randomClientIp();
      const started = performance.now();
      const statuses = [];
      for (let i = 0; i < 5; i += 1) statuses.push((await revoke(server, from(ip))).status);
      assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
      const elapsedMs = performance.now() - started;
      assert.ok(elapsedMs < commandTimeoutMs, `no request waits for Redis (five took ${elapsedMs.toFixed(0)} ms)`);
    } finally {
      await server.stop();
    }
  });
});
