import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fixedClock } from '../../core/clock.js';
import type { LoginAttemptStore } from '../../core/ports.js';
import { MemoryLoginAttemptStore } from '../memory/memory-login-attempt-store.js';
import { FallbackLoginAttemptStore } from './fallback-login-attempt-store.js';

/** A store that fails while `up` is false (an outage), and counts the calls that reached it. */
function flakyStore(): { store: LoginAttemptStore; up: boolean; calls: number } {
  const inner = new MemoryLoginAttemptStore();
  const state = { up: false, calls: 0, store: undefined as unknown as LoginAttemptStore };
  const guard = async <T>(work: () => Promise<T>): Promise<T> => {
    state.calls += 1;
    if (!state.up) throw new Error('connection refused');
    return work();
  };
  state.store = {
    inspect: (...args) => guard(() => inner.inspect(...args)),
    recordFailure: (failure) => guard(() => inner.recordFailure(failure)),
    clearFailures: (key) => guard(() => inner.clearFailures(key)),
    claimOnce: (...args) => guard(() => inner.claimOnce(...args)),
  };
  return state;
}

describe('FallbackLoginAttemptStore', () => {
  it('serves from memory during an outage, reports it once, probes at most once an interval, and reports recovery', async () => {
    const primary = flakyStore();
    const events: string[] = [];
    const clock = fixedClock(Date.now());
    const store = new FallbackLoginAttemptStore(
      primary.store,
      new MemoryLoginAttemptStore(),
      { onOutage: () => events.push('outage'), onRecovery: () => events.push('recovery') },
      { retryIntervalMs: 50, clock },
    );
    for (let i = 0; i < 5; i += 1) assert.equal(await store.claimOnce(`k${i}`, clock.now(), 1000), true);
    assert.deepEqual(events, ['outage']);
    assert.equal(primary.calls, 1, 'no probe before the interval');
    assert.equal(store.degraded, true);
    primary.up = true;
    clock.advance(49);
    assert.equal(await store.claimOnce('still-within', clock.now(), 1000), true);
    assert.equal(primary.calls, 1, 'no probe before the interval');
    clock.advance(1);
    assert.equal(await store.claimOnce('after', clock.now(), 1000), true);
    assert.deepEqual(events, ['outage', 'recovery']);
    assert.equal(store.degraded, false);
  });
});
