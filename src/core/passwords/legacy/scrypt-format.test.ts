import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LEGACY_HASHES } from '../../../../test/helpers/legacy-hashes.js';
import { identifyFirebaseScrypt } from './firebase-scrypt-format.js';
import type { IdentifiedHash } from './identified-hash.js';
import { identifyScrypt } from './scrypt-format.js';

/** The scrypt paper's test vectors (Appendix B), in passlib's PHC encoding, from passlib's test suite. */
const PAPER: Array<[password: string, stored: string]> = [
  ['', '$scrypt$ln=4,r=1,p=1$$d9ZXYjhleyA7GcpCwYoEl/FrSETjB0ro39/6P+3iFEI'],
  ['password', '$scrypt$ln=10,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWI'],
  ['pleaseletmein', '$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI'],
];

/** The example of firebase/scrypt's README: the project's hash config and user1's exported salt and hash. */
const FIREBASE = {
  signerKey: 'jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==',
  saltSeparator: 'Bw==',
  rounds: 8,
  memCost: 14,
  salt: '42xEC+ixf3L2lw==',
  hash: 'lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==',
  password: 'user1password',
};

function firebaseString(fields: Partial<typeof FIREBASE> = {}): string {
  const f = { ...FIREBASE, ...fields };
  return `$firebase-scrypt$rounds=${f.rounds},mem_cost=${f.memCost}$${f.signerKey}$${f.saltSeparator}$${f.salt}$${f.hash}`;
}

async function verifyBoth(identified: IdentifiedHash | undefined, password: string): Promise<boolean> {
  assert.ok(identified && identified.verification.op === 'legacy-verify');
  const sync = identified.verification.sync(password);
  assert.equal(await identified.verification.async(password), sync, 'sync and async agree');
  return sync;
}

describe('scrypt (passlib PHC)', () => {
  it("verifies the scrypt paper's vectors", async () => {
    for (const [password, stored] of PAPER) {
      assert.equal(await verifyBoth(identifyScrypt(stored), password), true, stored);
      assert.equal(identifyScrypt(stored)?.refusal, undefined);
    }
    assert.equal(await verifyBoth(identifyScrypt(PAPER[0]![1]), 'x'), false);
  });

  it('verifies what passlib wrote', async () => {
    const made = LEGACY_HASHES.filter((fixture) => fixture.source.startsWith('passlib scrypt'));
    assert.ok(made.length >= 3);
    for (const { password, hash } of made) {
      assert.equal(await verifyBoth(identifyScrypt(hash), password), true, hash);
      assert.equal(await verifyBoth(identifyScrypt(hash), password.toUpperCase()), false, hash);
    }
  });

  it('refuses at import more than 256 MiB (128·N·r) or 16 lanes', () => {
    const at = (cost: string) => identifyScrypt(`$scrypt$${cost}$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWI`)?.refusal;
    assert.equal(at('ln=21,r=1,p=1'), undefined);
    assert.equal(at('ln=18,r=8,p=1'), undefined);
    assert.match(at('ln=19,r=8,p=1') ?? '', /memory 128·N·r = 512 MiB is above the import bound of 256 MiB/);
    assert.match(at('ln=20,r=8,p=1') ?? '', /1024 MiB/);
    assert.match(at('ln=10,r=8,p=17') ?? '', /p=17 is above the import bound of 16/);
    assert.match(at('ln=0,r=8,p=1') ?? '', /not valid/);
  });
});

describe("Firebase's modified scrypt", () => {
  it("verifies the example of firebase/scrypt's README", async () => {
    assert.equal(await verifyBoth(identifyFirebaseScrypt(firebaseString()), FIREBASE.password), true);
    assert.deepEqual(identifyFirebaseScrypt(firebaseString())?.params, { rounds: 8, memCost: 14 });
    assert.equal(identifyFirebaseScrypt(firebaseString())?.refusal, undefined);
  });

  it('refuses a wrong password, another salt separator or another signer key', () => {
    const verify = (stored: string, password: string) => {
      const identified = identifyFirebaseScrypt(stored);
      return identified?.verification.op === 'legacy-verify' && identified.verification.sync(password);
    };
    assert.equal(verify(firebaseString(), 'user1Password'), false);
    assert.equal(verify(firebaseString({ saltSeparator: 'CA==' }), FIREBASE.password), false);
    const otherKey = Buffer.from(FIREBASE.signerKey, 'base64').reverse().toString('base64');
    assert.equal(verify(firebaseString({ signerKey: otherKey }), FIREBASE.password), false);
  });

  it('refuses at import parameters above the scrypt bound and fields that do not fit', () => {
    assert.match(identifyFirebaseScrypt(firebaseString({ memCost: 19 }))?.refusal ?? '', /above the import bound of 256 MiB/);
    assert.match(identifyFirebaseScrypt(firebaseString({ hash: 'AAAA' }))?.refusal ?? '', /shorter than 16 bytes/);
    assert.match(identifyFirebaseScrypt(firebaseString({ salt: '42xEC+ixf3L2lw=' }))?.refusal ?? '', /not valid base64/);
  });
});
