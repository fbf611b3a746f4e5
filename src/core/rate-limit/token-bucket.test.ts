import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkConsume, refill, takeTokens, type BucketState } from './token-bucket.js';

const ONE_PER_SECOND = { perMinute: 60, burst: 3 };

/** Runs `count` requests at `nowMs` from `state`; returns the last step. */
function run(state: BucketState | undefined, count: number, nowMs: number, bucket = ONE_PER_SECOND) {
  let step = takeTokens(state, bucket, 1, nowMs);
  for (let i = 1; i < count; i += 1) step = takeTokens(step.state, bucket, 1, nowMs);
  return step;
}

describe('token bucket', () => {
  it('starts full: the first request leaves burst - 1', () => {
    const step = takeTokens(undefined, ONE_PER_SECOND, 1, 0);
    assert.deepEqual(step.decision, { allowed: true, limit: 3, remaining: 2, resetSeconds: 1, retryAfterSeconds: 0 });
    assert.equal(step.fullAtMs, 1000);
  });

  it('allows the burst at once and refuses the next, which takes nothing', () => {
    const third = run(undefined, 3, 0);
    assert.equal(third.decision.allowed, true);
    assert.equal(third.decision.remaining, 0);
    assert.equal(third.decision.resetSeconds, 3);
    const fourth = takeTokens(third.state, ONE_PER_SECOND, 1, 0);
    assert.deepEqual(fourth.decision, { allowed: false, limit: 3, remaining: 0, resetSeconds: 3, retryAfterSeconds: 1 });
    assert.equal(fourth.state.tokens, 0);
  });

  it('refills perMinute / 60 tokens a second, never past the burst', () => {
    const empty = run(undefined, 3, 0).state;
    assert.equal(takeTokens(empty, ONE_PER_SECOND, 1, 999).decision.allowed, false);
    const after = takeTokens(empty, ONE_PER_SECOND, 1, 1000);
    assert.equal(after.decision.allowed, true);
    assert.equal(after.decision.remaining, 0);
    assert.equal(refill(empty, ONE_PER_SECOND, 60_000).tokens, 3);
  });

  it('counts a whole token despite floating-point error (10 a minute, 6 s)', () => {
    const bucket = { perMinute: 10, burst: 1 };
    for (let k = 1; k <= 50; k += 1) {
      const startMs = k * 7919;
      const empty = { tokens: 0, updatedMs: startMs };
      assert.equal(takeTokens(empty, bucket, 1, startMs + 6000).decision.allowed, true, `from ${startMs}`);
      assert.equal(takeTokens(empty, bucket, 1, startMs + 5999).decision.allowed, false, `from ${startMs}`);
    }
    let state: BucketState = { tokens: 0, updatedMs: 0 };
    for (let ms = 1; ms <= 6000; ms += 1) state = refill(state, bucket, ms);
    assert.equal(takeTokens(state, bucket, 1, 6000).decision.allowed, true, 'after 6000 refills of 1 ms');
  });

  it('says to retry after the time one more token takes, rounded up to whole seconds', () => {
    const bucket = { perMinute: 10, burst: 2 }; // a token every 6 s
    const empty = run(undefined, 2, 0, bucket).state;
    assert.equal(takeTokens(empty, bucket, 1, 0).decision.retryAfterSeconds, 6);
    assert.equal(takeTokens(empty, bucket, 1, 5500).decision.retryAfterSeconds, 1);
    assert.equal(takeTokens(empty, bucket, 2, 1000).decision.retryAfterSeconds, 11);
  });

  it('takes `cost` tokens', () => {
    const step = takeTokens(undefined, { perMinute: 60, burst: 5 }, 4, 0);
    assert.equal(step.decision.remaining, 1);
    assert.equal(takeTokens(step.state, { perMinute: 60, burst: 5 }, 2, 0).decision.allowed, false);
  });

  it('clamps to a burst that was lowered since', () => {
    const step = takeTokens({ tokens: 100, updatedMs: 0 }, ONE_PER_SECOND, 1, 0);
    assert.equal(step.decision.remaining, 2);
  });

  it('adds nothing when the clock steps back, and does not move the state back', () => {
    const empty = run(undefined, 3, 10_000).state;
    const back = takeTokens(empty, ONE_PER_SECOND, 1, 5_000);
    assert.equal(back.decision.allowed, false);
    assert.equal(back.state.updatedMs, 10_000);
    assert.equal(takeTokens(back.state, ONE_PER_SECOND, 1, 11_000).decision.allowed, true);
  });

  it('refuses a cost outside 1..burst and a broken bucket as misuse', () => {
    assert.throws(() => checkConsume(ONE_PER_SECOND, 0), TypeError);
    assert.throws(() => checkConsume(ONE_PER_SECOND, 4), TypeError);
    assert.throws(() => checkConsume(ONE_PER_SECOND, 1.5), TypeError);
    assert.throws(() => checkConsume({ perMinute: 0, burst: 3 }, 1), TypeError);
    assert.throws(() => checkConsume({ perMinute: 60, burst: 0 }, 1), TypeError);
    checkConsume(ONE_PER_SECOND, 3);
  });
});
