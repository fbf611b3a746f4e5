import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fixedClock } from '../clock.js';
import type { RateDecision, RateLimiter } from '../ports.js';
import { FallbackRateLimiter } from './fallback-rate-limiter.js';

const ALLOWED: RateDecision = { allowed: true, limit: 1, remaining: 0, resetSeconds: 1, retryAfterSeconds: 0 };
const bucket = { perMinute: 60, burst: 1 };

function fake(name: string, log: string[]): RateLimiter & { failing: boolean } {
  return {
    failing: false,
    async consume() {
      log.push(name);
      if (this.failing) throw new Error(`${name} is down`);
      return ALLOWED;
    },
  };
}

describe('FallbackRateLimiter', () => {
  it('uses the primary while it answers', async () => {
    const log: string[] = [];
    const limiter = new FallbackRateLimiter(fake('primary', log), fake('fallback', log), {
      onOutage: () => assert.fail('no outage'),
      onRecovery: () => assert.fail('no recovery'),
    });
    await limiter.consume('k', bucket);
    await limiter.consume('k', bucket);
    assert.deepEqual(log, ['primary', 'primary']);
  });

  it('falls back on failure, reports it once, probes once an interval, and reports the recovery', async () => {
    const log: string[] = [];
    const events: string[] = [];
    const clock = fixedClock(0);
    const primary = fake('primary', log);
    const limiter = new FallbackRateLimiter(
      primary,
      fake('fallback', log),
      { onOutage: (error) => events.push(`outage: ${(error as Error).message}`), onRecovery: () => events.push('recovered') },
      { clock, probeIntervalMs: 1000 },
    );
    primary.failing = true;
    await limiter.consume('k', bucket);
    await limiter.consume('k', bucket);
    clock.advance(999);
    await limiter.consume('k', bucket);
    assert.deepEqual(log, ['primary', 'fallback', 'fallback', 'fallback']);
    assert.deepEqual(events, ['outage: primary is down']);
    assert.equal(limiter.degraded, true);

    log.length = 0;
    clock.advance(1);
    await limiter.consume('k', bucket); // the probe fails
    await limiter.consume('k', bucket);
    assert.deepEqual(log, ['primary', 'fallback', 'fallback']);
    assert.deepEqual(events, ['outage: primary is down'], 'still one report');

    log.length = 0;
    primary.failing = false;
    clock.advance(1000);
    await limiter.consume('k', bucket);
    await limiter.consume('k', bucket);
    assert.deepEqual(log, ['primary', 'primary']);
    assert.deepEqual(events, ['outage: primary is down', 'recovered']);
    assert.equal(limiter.degraded, false);
  });

  it('throws on misuse instead of reporting an outage', async () => {
    const limiter = new FallbackRateLimiter(fake('primary', []), fake('fallback', []), {
      onOutage: () => assert.fail('no outage'),
      onRecovery: () => undefined,
    });
    await assert.rejects(limiter.consume('k', bucket, 2), TypeError);
  });
});
