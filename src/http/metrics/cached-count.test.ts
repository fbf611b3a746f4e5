import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fixedClock } from '../../core/clock.js';
import { CachedCount } from './cached-count.js';

function counter(answers: Array<number | Error>): { readonly calls: number[]; count(nowMs: number): Promise<number> } {
  const calls: number[] = [];
  return {
    calls,
    count(nowMs) {
      calls.push(nowMs);
      const answer = answers.shift() ?? 0;
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
  };
}

describe('CachedCount', () => {
  it('counts once per maxAge, at the current time, and answers from the cache in between', async () => {
    const clock = fixedClock(1_000_000);
    const source = counter([3, 5]);
    const cached = new CachedCount((now) => source.count(now), clock, 5_000);
    assert.equal(await cached.get(), 3);
    clock.advance(4_999);
    assert.equal(await cached.get(), 3);
    assert.deepEqual(source.calls, [1_000_000]);
    clock.advance(1);
    assert.equal(await cached.get(), 5);
    assert.deepEqual(source.calls, [1_000_000, 1_005_000]);
  });

  it('shares one count between concurrent askers', async () => {
    const source = counter([7]);
    const cached = new CachedCount((now) => source.count(now), fixedClock(0), 5_000);
    assert.deepEqual(await Promise.all([cached.get(), cached.get(), cached.get()]), [7, 7, 7]);
    assert.equal(source.calls.length, 1);
  });

  it('answers undefined for a failed count, keeps that for maxAge, then counts again', async () => {
    const clock = fixedClock(0);
    const source = counter([new Error('database down'), 2]);
    const cached = new CachedCount((now) => source.count(now), clock, 5_000);
    assert.equal(await cached.get(), undefined);
    assert.equal(await cached.get(), undefined);
    assert.equal(source.calls.length, 1);
    clock.advance(5_000);
    assert.equal(await cached.get(), 2);
  });
});
