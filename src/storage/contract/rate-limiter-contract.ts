/**
 * The behaviour every RateLimiter must have, as a node:test suite. Exported
 * so a custom limiter can be checked too:
 *
 *   rateLimiterContract('MyLimiter', async () => ({ limiter: new MyLimiter(), close: async () => {} }));
 *
 * It runs on the real clock (a shared limiter keeps its own time), with
 * buckets that refill in tens of milliseconds, and fresh keys per test so
 * it can share a store with other users.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RateLimiter } from '../../core/ports.js';

export interface RateLimiterHarness {
  readonly limiter: RateLimiter;
  close?(): Promise<void>;
}

export interface RateLimiterContractOptions {
  /** A reason to skip the whole suite (e.g. "Redis is not reachable"). */
  readonly skip?: string | undefined;
}

export function rateLimiterContract(name: string, open: () => Promise<RateLimiterHarness>, options: RateLimiterContractOptions = {}): void {
  describe(`RateLimiter contract: ${name}`, { skip: options.skip ?? false }, () => {
    let harness: RateLimiterHarness;
    let limiter: RateLimiter;
    const run = randomUUID();
    const key = (label: string) => `contract:${run}:${label}`;

    before(async () => {
      harness = await open();
      limiter = harness.limiter;
    });
    after(async () => {
      await harness?.close?.();
    });

    it('starts a key with a full bucket', async () => {
      const decision = await limiter.consume(key('fresh'), { perMinute: 60, burst: 5 });
      assert.deepEqual(decision, { allowed: true, limit: 5, remaining: 4, resetSeconds: 1, retryAfterSeconds: 0 });
    });

    it('allows the burst at once, then refuses with a retry time', async () => {
      const bucket = { perMinute: 6, burst: 3 }; // a token every 10 s
      for (let i = 2; i >= 0; i -= 1) {
        const decision = await limiter.consume(key('burst'), bucket);
        assert.equal(decision.allowed, true);
        assert.equal(decision.remaining, i);
      }
      const refused = await limiter.consume(key('burst'), bucket);
      assert.equal(refused.allowed, false);
      assert.equal(refused.remaining, 0);
      assert.equal(refused.limit, 3);
      assert.equal(refused.retryAfterSeconds, 10);
      assert.equal(refused.resetSeconds, 30);
    });

    it('takes a fractional refill rate (5 an hour, as PASSWORD_RESET_MAILS_PER_HOUR makes) without rounding it', async () => {
      const bucket = { perMinute: 5 / 60, burst: 5 }; // a token every 12 minutes
      for (let i = 4; i >= 0; i -= 1) assert.equal((await limiter.consume(key('fraction'), bucket)).remaining, i);
      const refused = await limiter.consume(key('fraction'), bucket);
      assert.equal(refused.allowed, false);
      assert.equal(refused.retryAfterSeconds, 720);
      assert.equal(refused.resetSeconds, 3600);
    });

    it('refills over time, and a refused request takes nothing', async () => {
      const bucket = { perMinute: 1200, burst: 2 }; // a token every 50 ms
      await limiter.consume(key('refill'), bucket);
      await limiter.consume(key('refill'), bucket);
      for (let i = 0; i < 5; i += 1) assert.equal((await limiter.consume(key('refill'), bucket)).allowed, false);
      await sleep(80);
      assert.equal((await limiter.consume(key('refill'), bucket)).allowed, true);
    });

    it('never holds more than the burst', async () => {
      const bucket = { perMinute: 60_000, burst: 2 }; // a token a millisecond
      await limiter.consume(key('cap'), bucket);
      await sleep(50);
      const decision = await limiter.consume(key('cap'), bucket);
      assert.equal(decision.remaining, 1);
    });

    it('keeps keys apart', async () => {
      const bucket = { perMinute: 1, burst: 1 };
      assert.equal((await limiter.consume(key('a'), bucket)).allowed, true);
      assert.equal((await limiter.consume(key('a'), bucket)).allowed, false);
      assert.equal((await limiter.consume(key('b'), bucket)).allowed, true);
    });

    it('takes `cost` tokens', async () => {
      const bucket = { perMinute: 1, burst: 5 };
      assert.equal((await limiter.consume(key('cost'), bucket, 4)).remaining, 1);
      assert.equal((await limiter.consume(key('cost'), bucket, 2)).allowed, false);
      assert.equal((await limiter.consume(key('cost'), bucket, 1)).allowed, true);
    });

    it('clamps a bucket whose burst was lowered', async () => {
      await limiter.consume(key('lowered'), { perMinute: 1, burst: 10 });
      assert.equal((await limiter.consume(key('lowered'), { perMinute: 1, burst: 3 })).remaining, 2);
    });

    it('lets exactly the burst through under concurrent requests', async () => {
      const bucket = { perMinute: 1, burst: 10 };
      const decisions = await Promise.all(Array.from({ length: 50 }, () => limiter.consume(key('race'), bucket)));
      assert.equal(decisions.filter((d) => d.allowed).length, 10);
    });

    it('rejects a cost outside 1..burst as misuse', async () => {
      await assert.rejects(limiter.consume(key('misuse'), { perMinute: 60, burst: 3 }, 0), TypeError);
      await assert.rejects(limiter.consume(key('misuse'), { perMinute: 60, burst: 3 }, 4), TypeError);
    });
  });
}
