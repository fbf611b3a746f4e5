import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RestartBackoff } from './restart-backoff.js';

describe('RestartBackoff', () => {
  it('replaces a worker that ran well after the base delay', () => {
    const backoff = new RestartBackoff({ baseMs: 200, maxMs: 30_000, stableMs: 10_000 });
    assert.equal(backoff.delayAfterDeath(3_600_000), 200);
    assert.equal(backoff.delayAfterDeath(3_600_000), 200);
  });

  it('doubles the delay for workers that keep dying young, up to the cap', () => {
    const backoff = new RestartBackoff({ baseMs: 200, maxMs: 3_000, stableMs: 10_000 });
    const delays = Array.from({ length: 7 }, () => backoff.delayAfterDeath(50));
    assert.deepEqual(delays, [200, 400, 800, 1600, 3000, 3000, 3000]);
    assert.equal(backoff.crashStreak, 7);
  });

  it('starts over once a worker has lived stableMs', () => {
    const backoff = new RestartBackoff({ baseMs: 100, maxMs: 10_000, stableMs: 5_000 });
    backoff.delayAfterDeath(10);
    backoff.delayAfterDeath(10);
    assert.equal(backoff.delayAfterDeath(10), 400);
    assert.equal(backoff.delayAfterDeath(5_000), 100);
    assert.equal(backoff.crashStreak, 1);
  });

  it('stays finite however long the streak', () => {
    const backoff = new RestartBackoff({ baseMs: 1, maxMs: 60_000 });
    for (let i = 0; i < 2000; i += 1) assert.ok(backoff.delayAfterDeath(0) <= 60_000);
  });

  it('refuses settings that make no sense', () => {
    assert.throws(() => new RestartBackoff({ baseMs: 0 }), TypeError);
    assert.throws(() => new RestartBackoff({ baseMs: 500, maxMs: 100 }), TypeError);
  });
});
