import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loginAttemptStoreContract } from '../contract/login-attempt-store-contract.js';
import { MemoryLoginAttemptStore } from './memory-login-attempt-store.js';

loginAttemptStoreContract('MemoryLoginAttemptStore', async () => ({ store: new MemoryLoginAttemptStore() }));

const HOUR_MS = 3_600_000;
const failure = (pair: string, source: string, account: string, nowMs: number, pairTtlMs = 60_000) => ({
  pairKey: pair,
  sourceKey: source,
  accountKey: account,
  nowMs,
  pairTtlMs,
  sprayWindowMs: HOUR_MS,
});

describe('MemoryLoginAttemptStore bounds', () => {
  it('holds at most maxKeys pairs and sources, dropping the least recently written', async () => {
    const store = new MemoryLoginAttemptStore({ maxKeys: 10 });
    for (let i = 0; i < 50; i += 1) await store.recordFailure(failure(`p${i}`, `s${i}`, 'a', 1000 + i));
    assert.deepEqual(store.size, { pairs: 10, sources: 10, claims: 0 });
    assert.equal((await store.inspect('p0', 's0', 2000, HOUR_MS)).failures, undefined);
    assert.equal((await store.inspect('p49', 's49', 2000, HOUR_MS)).failures?.count, 1);
  });

  it('keeps at most maxAccountsPerSource accounts per source', async () => {
    const store = new MemoryLoginAttemptStore({ maxAccountsPerSource: 5 });
    for (let i = 0; i < 20; i += 1) await store.recordFailure(failure(`p${i}`, 'one-source', `a${i}`, 1000 + i));
    assert.equal((await store.inspect('x', 'one-source', 2000, HOUR_MS)).sprayAccounts, 5);
  });

  it('sweeps expired records once a sweep interval', async () => {
    const store = new MemoryLoginAttemptStore({ sweepIntervalMs: 1000 });
    await store.recordFailure(failure('p', 's', 'a', 0, 500));
    await store.claimOnce('c', 0, 500);
    assert.deepEqual(store.size, { pairs: 1, sources: 1, claims: 1 });
    await store.recordFailure(failure('p2', 's2', 'a', HOUR_MS + 2000, 500));
    assert.deepEqual(store.size, { pairs: 1, sources: 1, claims: 0 });
  });

  it('refuses nonsensical bounds', () => {
    assert.throws(() => new MemoryLoginAttemptStore({ maxKeys: 0 }), TypeError);
  });
});
