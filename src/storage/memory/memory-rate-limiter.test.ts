import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fixedClock } from '../../core/clock.js';
import { rateLimiterContract } from '../contract/rate-limiter-contract.js';
import { MemoryRateLimiter } from './memory-rate-limiter.js';

rateLimiterContract('MemoryRateLimiter', async () => ({ limiter: new MemoryRateLimiter() }));

describe('MemoryRateLimiter', () => {
  const bucket = { perMinute: 60, burst: 2 };

  it('refills lazily on the injected clock', async () => {
    const clock = fixedClock(0);
    const limiter = new MemoryRateLimiter({ clock });
    await limiter.consume('k', bucket);
    await limiter.consume('k', bucket);
    assert.equal((await limiter.consume('k', bucket)).allowed, false);
    clock.advance(1000);
    assert.equal((await limiter.consume('k', bucket)).allowed, true);
  });

  it('sweeps buckets that have refilled, once a sweep interval', async () => {
    const clock = fixedClock(0);
    const limiter = new MemoryRateLimiter({ clock, sweepIntervalMs: 10_000 });
    for (let i = 0; i < 100; i += 1) await limiter.consume(`ip:${i}`, bucket);
    await limiter.consume('slow', { perMinute: 1, burst: 2 });
    assert.equal(limiter.size, 101);
    clock.advance(9_999);
    await limiter.consume('other', bucket);
    assert.equal(limiter.size, 102, 'no sweep before the interval');
    clock.advance(1);
    await limiter.consume('other', bucket);
    // The 100 refilled buckets go; 'slow' (a minute to refill) and 'other' (taken a moment ago) stay.
    assert.equal(limiter.size, 2);
  });

  it('holds at most maxKeys buckets, dropping the least recently used', async () => {
    const clock = fixedClock(0);
    const limiter = new MemoryRateLimiter({ clock, maxKeys: 3 });
    const slow = { perMinute: 1, burst: 2 };
    await limiter.consume('a', slow);
    await limiter.consume('b', slow);
    await limiter.consume('c', slow);
    await limiter.consume('a', slow); // a is now the most recent
    await limiter.consume('d', slow); // b goes
    assert.equal(limiter.size, 3);
    assert.equal((await limiter.consume('a', slow)).allowed, false, 'a kept its count');
    assert.equal((await limiter.consume('b', slow)).remaining, 1, 'b starts over');
  });

  it('refuses a maxKeys below one', () => {
    assert.throws(() => new MemoryRateLimiter({ maxKeys: 0 }), TypeError);
  });
});
