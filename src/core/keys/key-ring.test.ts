import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fixedClock } from '../clock.js';
import type { KeyStore } from '../ports.js';
import { SealedBox } from '../sealed-box.js';
import { generateSigningKey } from './key-material.js';
import { AsymmetricKeyRing } from './key-ring.js';
import type { KeyState, SigningKeyRecord } from './signing-key.js';

const box = new SealedBox('key-ring-test-secret-key-that-is-long-enough-0123', 'signing-key/v1');
const POLICY = { issuer: 'http://ring.test', audience: undefined, requiredClaims: ['sub'] };

function record(state: KeyState): SigningKeyRecord {
  const key = generateSigningKey('EdDSA');
  return {
    kid: key.kid,
    algorithm: 'EdDSA',
    state,
    publicJwk: key.publicJwk,
    privateSealed: box.seal(key.privatePem, key.kid),
    createdAt: 0,
    activatedAt: state === 'current' ? 0 : null,
    retiredAt: null,
  };
}

/** A key store that answers list() from an array the test edits (the ring only lists), counting the loads. */
function ringOver(records: SigningKeyRecord[]) {
  let version: number | undefined = 1;
  let lists = 0;
  let hold: Promise<void> | undefined;
  const store = {
    async list() {
      lists += 1;
      const snapshot = [...records];
      await hold;
      return snapshot;
    },
  } as unknown as KeyStore;
  const ring = new AsymmetricKeyRing('EdDSA', store, box, POLICY, fixedClock(0), { version: () => version });
  return {
    ring,
    setVersion: (next: number | undefined) => (version = next),
    lists: () => lists,
    /** Makes the next loads wait (after reading the store) until the returned function is called. */
    holdLoads: () => {
      let release = () => {};
      hold = new Promise((resolve) => (release = resolve));
      return () => {
        hold = undefined;
        release();
      };
    },
  };
}

describe('AsymmetricKeyRing', () => {
  it('is current once loaded, and no longer once the storage reports a change, until it loads again', async () => {
    const current = record('current');
    const { ring, setVersion } = ringOver([current, record('next')]);
    assert.equal(ring.isCurrent(), false, 'nothing loaded yet');
    await ring.reload();
    assert.equal(ring.isCurrent(), true);
    assert.equal(ring.signer().kid, current.kid);
    setVersion(2);
    assert.equal(ring.isCurrent(), false, 'another process committed');
    await ring.reload();
    assert.equal(ring.isCurrent(), true);
  });

  it('is never current while the storage cannot tell what changed', async () => {
    const { ring, setVersion } = ringOver([record('current')]);
    setVersion(undefined);
    await ring.reload();
    assert.equal(ring.isCurrent(), false);
  });

  it('after an announced change, is current only once a load that started after it has finished', async () => {
    const records = [record('current'), record('next')];
    const { ring, holdLoads } = ringOver(records);
    await ring.reload();
    const release = holdLoads();
    const before = ring.reload(); // a load already running when the change is announced
    const retired = records.shift()!;
    records[0] = { ...records[0]!, state: 'current' };
    const after = ring.changed();
    assert.equal(ring.isCurrent(), false, 'superseded as soon as it is announced');
    release();
    await before;
    assert.equal(ring.isCurrent(), false, 'a load that predates the announcement does not count');
    await after;
    assert.equal(ring.isCurrent(), true);
    assert.equal(ring.verifier(retired.kid), undefined, 'the removed key verifies nothing');
    assert.equal(ring.signer().kid, records[0]!.kid);
  });

  it('keeps the verifier of an unchanged key across loads, and signs with nothing when the store has no current key', async () => {
    const records = [record('current'), record('next')];
    const { ring, lists } = ringOver(records);
    await ring.reload();
    const verify = ring.verifier(records[1]!.kid);
    assert.ok(verify);
    records.shift();
    await ring.reload();
    assert.equal(lists(), 2);
    assert.equal(ring.verifier(records[0]!.kid), verify, 'the same function: remembered tokens stay remembered');
    assert.throws(() => ring.signer(), /no current EdDSA signing key/);
  });
});
