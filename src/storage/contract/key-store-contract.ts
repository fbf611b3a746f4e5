/**
 * The behaviour every KeyStore must have, as a node:test suite. Exported so a
 * custom store can be checked too:
 *
 *   keyStoreContract('MyStore', async () => ({ store: new MyStore() }));
 *
 * `open` is called once for the suite and must give an empty store. The
 * store keeps records as given (it never reads the key material), so the
 * records here are made up; each test uses kids of its own.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { KeyState, SigningKeyRecord } from '../../core/keys/signing-key.js';
import type { KeyStore } from '../../core/ports.js';
import { CONTRACT_T0 as T0, type StoreContractOptions, type StoreHarness } from './store-harness.js';

function keyIn(state: KeyState, createdAt = T0): SigningKeyRecord {
  const kid = `kid-${randomUUID()}`;
  return {
    kid,
    algorithm: 'EdDSA',
    state,
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x: 'eA', kid, alg: 'EdDSA', use: 'sig' },
    privateSealed: `sealed-${kid}`,
    createdAt,
    activatedAt: state === 'current' ? createdAt : null,
    retiredAt: null,
  };
}

export function keyStoreContract(name: string, open: () => Promise<StoreHarness<KeyStore>>, options: StoreContractOptions = {}): void {
  describe(`KeyStore contract: ${name}`, { skip: options.skip ?? false }, () => {
    let harness: StoreHarness<KeyStore>;
    let store: KeyStore;
    /** The listed keys among `kids`, in list order. */
    const listed = async (...kids: string[]) => (await store.list()).filter((key) => kids.includes(key.kid));
    /** A current and a next key, stored. */
    const pair = async () => {
      const current = keyIn('current', T0);
      const next = keyIn('next', T0 + 1);
      await store.insert(current);
      await store.insert(next);
      return { current, next };
    };

    before(async () => {
      harness = await open();
      store = harness.store;
    });
    after(async () => {
      await harness?.close?.();
    });

    it('starts empty, and answers false for a key that does not exist', async () => {
      assert.deepEqual(await store.list(), []);
      assert.equal(await store.retire('missing', 'current', T0), false);
      assert.equal(await store.remove('missing'), false);
    });

    it('lists the keys inserted, oldest first, as they were given', async () => {
      const newer = { ...keyIn('next', T0 + 50), retiredAt: null };
      const older = { ...keyIn('retired', T0 - 50), activatedAt: T0 - 40, retiredAt: T0 - 30 };
      await store.insert(newer);
      await store.insert(older);
      assert.deepEqual(await listed(newer.kid, older.kid), [older, newer]);
    });

    it('rotates: next becomes current, current retires, the new next is stored, all at once', async () => {
      const { current, next } = await pair();
      const newNext = keyIn('next', T0 + 100);
      assert.equal(await store.rotate({ currentKid: current.kid, nextKid: next.kid, newNext, nowMs: T0 + 100 }), true);
      assert.deepEqual(await listed(current.kid, next.kid, newNext.kid), [
        { ...current, state: 'retired', retiredAt: T0 + 100 },
        { ...next, state: 'current', activatedAt: T0 + 100 },
        newNext,
      ]);
    });

    it('rotates with no current key, promoting the next one', async () => {
      const next = keyIn('next', T0);
      await store.insert(next);
      const newNext = keyIn('next', T0 + 1);
      assert.equal(await store.rotate({ currentKid: null, nextKid: next.kid, newNext, nowMs: T0 + 5 }), true);
      assert.deepEqual(await listed(next.kid, newNext.kid), [{ ...next, state: 'current', activatedAt: T0 + 5 }, newNext]);
    });

    it('refuses a rotation whose keys changed meanwhile, changing nothing', async () => {
      const { current, next } = await pair();
      const staleNext = keyIn('next', T0 + 2);
      assert.equal(
        await store.rotate({ currentKid: current.kid, nextKid: current.kid, newNext: staleNext, nowMs: T0 + 10 }),
        false,
        'not a next key',
      );
      const otherCurrent = keyIn('retired', T0 - 1);
      await store.insert(otherCurrent);
      assert.equal(
        await store.rotate({ currentKid: otherCurrent.kid, nextKid: next.kid, newNext: staleNext, nowMs: T0 + 10 }),
        false,
        'the named current key is not current: the promotion is undone',
      );
      assert.deepEqual(await listed(current.kid, next.kid, staleNext.kid), [current, next]);
    });

    it('lets exactly one of concurrent rotations win', async () => {
      const { current, next } = await pair();
      const candidates = Array.from({ length: 4 }, (_, i) => keyIn('next', T0 + 10 + i));
      const results = await Promise.all(
        candidates.map((newNext) => store.rotate({ currentKid: current.kid, nextKid: next.kid, newNext, nowMs: T0 + 10 })),
      );
      assert.equal(results.filter(Boolean).length, 1, `results ${JSON.stringify(results)}`);
      const winner = candidates[results.indexOf(true)]!;
      const kids = (await listed(...candidates.map((candidate) => candidate.kid))).map((key) => key.kid);
      assert.deepEqual(kids, [winner.kid], "only the winner's new next key is stored");
    });

    it('retires a key only from the state given', async () => {
      const key = keyIn('next');
      await store.insert(key);
      assert.equal(await store.retire(key.kid, 'current', T0 + 1), false);
      assert.deepEqual(await listed(key.kid), [key]);
      assert.equal(await store.retire(key.kid, 'next', T0 + 2), true);
      assert.deepEqual(await listed(key.kid), [{ ...key, state: 'retired', retiredAt: T0 + 2 }]);
      assert.equal(await store.retire(key.kid, 'next', T0 + 3), false);
    });

    it('removes a key', async () => {
      const key = keyIn('retired');
      await store.insert(key);
      assert.equal(await store.remove(key.kid), true);
      assert.deepEqual(await listed(key.kid), []);
      assert.equal(await store.remove(key.kid), false);
    });
  });
}
