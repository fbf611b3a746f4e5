/**
 * The behaviour every LoginAttemptStore must have, as a node:test suite.
 * Exported so a custom store can be checked too:
 *
 *   loginAttemptStoreContract('MyStore', async () => ({ store: new MyStore(), close: async () => {} }));
 *
 * It runs on the real clock (a shared store expires records on its own
 * time), with records that expire in tens of milliseconds, and fresh keys per
 * test so it can share a store with other users.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoginAttemptStore, LoginFailureRecord } from '../../core/ports.js';

export interface LoginAttemptStoreHarness {
  readonly store: LoginAttemptStore;
  close?(): Promise<void>;
}

export interface LoginAttemptStoreContractOptions {
  /** A reason to skip the whole suite (e.g. "Redis is not reachable"). */
  readonly skip?: string | undefined;
}

const HOUR_MS = 3_600_000;

export function loginAttemptStoreContract(
  name: string,
  open: () => Promise<LoginAttemptStoreHarness>,
  options: LoginAttemptStoreContractOptions = {},
): void {
  describe(`LoginAttemptStore contract: ${name}`, { skip: options.skip ?? false }, () => {
    let harness: LoginAttemptStoreHarness;
    let store: LoginAttemptStore;
    const run = randomUUID();
    const key = (label: string) => `contract:${run}:${label}`;
    const failure = (pair: string, source: string, account: string, nowMs = Date.now(), more: Partial<LoginFailureRecord> = {}) => ({
      pairKey: key(pair),
      sourceKey: key(source),
      accountKey: account,
      nowMs,
      pairTtlMs: 60_000,
      sprayWindowMs: HOUR_MS,
      ...more,
    });

    before(async () => {
      harness = await open();
      store = harness.store;
    });
    after(async () => {
      await harness?.close?.();
    });

    it('knows nothing of a new pair or source', async () => {
      const view = await store.inspect(key('p0'), key('s0'), Date.now(), HOUR_MS);
      assert.deepEqual(view, { failures: undefined, sprayAccounts: 0, sprayOldestAt: undefined });
    });

    it('counts the failures of a pair and remembers the last one', async () => {
      const start = Date.now();
      assert.deepEqual(await store.recordFailure(failure('p1', 's1', 'a', start)), { count: 1, lastAt: start });
      assert.deepEqual(await store.recordFailure(failure('p1', 's1', 'a', start + 5)), { count: 2, lastAt: start + 5 });
      const view = await store.inspect(key('p1'), key('s1'), start + 10, HOUR_MS);
      assert.deepEqual(view.failures, { count: 2, lastAt: start + 5 });
    });

    it('keeps pairs apart', async () => {
      await store.recordFailure(failure('p2a', 's2', 'a'));
      const other = await store.inspect(key('p2b'), key('s2'), Date.now(), HOUR_MS);
      assert.equal(other.failures, undefined);
    });

    it('never moves the last failure back in time', async () => {
      const start = Date.now();
      await store.recordFailure(failure('p3', 's3', 'a', start));
      assert.deepEqual(await store.recordFailure(failure('p3', 's3', 'a', start - 1000)), { count: 2, lastAt: start });
    });

    it('forgets a pair on clearFailures, but not what its source sprayed', async () => {
      await store.recordFailure(failure('p4', 's4', 'a'));
      await store.clearFailures(key('p4'));
      const view = await store.inspect(key('p4'), key('s4'), Date.now(), HOUR_MS);
      assert.equal(view.failures, undefined);
      assert.equal(view.sprayAccounts, 1);
      await store.clearFailures(key('never-seen'));
    });

    it('forgets a pair pairTtlMs after its last failure', async () => {
      await store.recordFailure(failure('p5', 's5', 'a', Date.now(), { pairTtlMs: 60 }));
      assert.notEqual((await store.inspect(key('p5'), key('s5'), Date.now(), HOUR_MS)).failures, undefined);
      await sleep(150);
      assert.equal((await store.inspect(key('p5'), key('s5'), Date.now(), HOUR_MS)).failures, undefined);
    });

    it('counts distinct accounts per source, each once, with the oldest failure', async () => {
      const start = Date.now();
      await store.recordFailure(failure('p6a', 's6', 'alice', start));
      await store.recordFailure(failure('p6b', 's6', 'bob', start + 1));
      await store.recordFailure(failure('p6a', 's6', 'alice', start + 2));
      await store.recordFailure(failure('p6c', 's6other', 'carol', start + 3));
      const view = await store.inspect(key('p6x'), key('s6'), start + 4, HOUR_MS);
      assert.equal(view.sprayAccounts, 2);
      // alice's last failure is start + 2: an account counts from its latest failure.
      assert.equal(view.sprayOldestAt, start + 1);
      assert.equal((await store.inspect(key('p6x'), key('s6other'), start + 4, HOUR_MS)).sprayAccounts, 1);
    });

    it('counts only failures within the sliding window', async () => {
      const start = Date.now();
      await store.recordFailure(failure('p7a', 's7', 'old', start - 5000));
      await store.recordFailure(failure('p7b', 's7', 'new', start));
      const view = await store.inspect(key('p7x'), key('s7'), start, 2000);
      assert.equal(view.sprayAccounts, 1);
      assert.equal(view.sprayOldestAt, start);
      const later = await store.inspect(key('p7x'), key('s7'), start + 2000, 2000);
      assert.deepEqual([later.sprayAccounts, later.sprayOldestAt], [0, undefined]);
    });

    it('counts concurrent failures exactly (atomic)', async () => {
      const now = Date.now();
      await Promise.all(Array.from({ length: 25 }, (_, i) => store.recordFailure(failure('p8', 's8', `acct-${i % 5}`, now))));
      const view = await store.inspect(key('p8'), key('s8'), now, HOUR_MS);
      assert.equal(view.failures?.count, 25);
      assert.equal(view.sprayAccounts, 5);
    });

    it('claims a key once per ttl', async () => {
      assert.equal(await store.claimOnce(key('c1'), Date.now(), 80), true);
      assert.equal(await store.claimOnce(key('c1'), Date.now(), 80), false);
      assert.equal(await store.claimOnce(key('c2'), Date.now(), 80), true);
      await sleep(180);
      assert.equal(await store.claimOnce(key('c1'), Date.now(), 80), true);
    });
  });
}
