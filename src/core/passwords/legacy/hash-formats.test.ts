import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LEGACY_HASHES } from '../../../../test/helpers/legacy-hashes.js';
import { decodeAb64, decodeBase64, encodeCrypt64 } from './hash-encodings.js';
import { checkImportableHash, identifyHash, verifyLegacyHash, verifyLegacyHashSync } from './hash-formats.js';

const BCRYPT = '$2b$12$EixZaYVK1fsbw1ZfbX3OXePaWxn96p36WQoeG6Lruj3vjPGga31lW';
const ARGON2I = '$argon2i$v=19$m=256,t=1,p=1$c29tZXNhbHQ$AJFIsNZTMKTAewB4+ETN1A';

/** Published salted-SHA values: SHA-1("NaCl" ‖ "password") and SHA-256("password" ‖ "NaCl"), computed with Python's hashlib. */
const SALTED: Array<[password: string, stored: string]> = [
  ['password', '$salted-sha1$salt-first$TmFDbA==$4ynUBUr/OQVsCQQZk/6FmoYdJy8='],
  ['password', '$salted-sha256$salt-last$TmFDbA==$AoSAlxEEs3aR9BxDDlngf9TFrg9TMXsqouBs+N27/hA='],
];

describe('the hash-format registry', () => {
  it('identifies every fixture made by the sources’ tooling, with the kind its scheme says', () => {
    const kinds = new Set<string>();
    for (const { source, hash } of LEGACY_HASHES) {
      const identified = identifyHash(hash);
      assert.ok(identified, `${source}: ${hash}`);
      kinds.add(identified.kind);
    }
    assert.deepEqual([...kinds].sort(), ['argon2i', 'argon2id', 'bcrypt', 'pbkdf2', 'phpass', 'salted-sha', 'scrypt', 'sha-crypt']);
  });

  it('takes every fixture for import, the weak ones only with allowWeak', () => {
    for (const { source, hash, weak } of LEGACY_HASHES) {
      const strict = checkImportableHash(hash);
      assert.equal(strict.ok, !weak, source);
      if (!strict.ok) assert.match(strict.reason, /weak hash: pass --allow-weak/);
      assert.equal(checkImportableHash(hash, { allowWeak: true }).ok, true, source);
    }
  });

  it('verifies the node:crypto formats synchronously and asynchronously; bcrypt and argon2 are not its to verify', async () => {
    for (const { source, hash, password } of LEGACY_HASHES) {
      const op = identifyHash(hash)?.verification.op;
      const expected = op === 'legacy-verify';
      assert.equal(verifyLegacyHashSync(hash, password), expected, source);
      assert.equal(await verifyLegacyHash(hash, password), expected, source);
      assert.equal(verifyLegacyHashSync(hash, `${password} `), false, source);
    }
  });

  it('verifies the published salted-SHA values, and only with the salt on the side the string says', () => {
    for (const [password, stored] of SALTED) {
      assert.equal(verifyLegacyHashSync(stored, password), true, stored);
      assert.equal(verifyLegacyHashSync(stored, 'Password'), false, stored);
      const swapped = stored.includes('salt-first') ? stored.replace('salt-first', 'salt-last') : stored.replace('salt-last', 'salt-first');
      assert.equal(verifyLegacyHashSync(swapped, password), false, swapped);
      assert.equal(identifyHash(stored)?.weak, true);
    }
  });

  it('never verifies a hash an import would refuse', () => {
    const absurd = '$scrypt$ln=22,r=8,p=1$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWI';
    assert.ok(identifyHash(absurd)?.refusal);
    assert.equal(verifyLegacyHashSync(absurd, 'password'), false);
  });

  describe('checkImportableHash reasons', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['plain text', 'hunter2', /not a supported hash format \(bcrypt, argon2i\/argon2id, PBKDF2/],
      ['an empty string', '', /not a supported hash format/],
      ['a truncated bcrypt hash', BCRYPT.slice(0, -1), /looks like a bcrypt hash but is malformed/],
      ['a bcrypt hash of cost 17', BCRYPT.replace('$12$', '$17$'), /bcrypt cost 17 is above the import bound of 16/],
      ['a bcrypt hash of cost 03', BCRYPT.replace('$12$', '$03$'), /not a valid cost/],
      ['argon2i at 1 GiB', ARGON2I.replace('m=256', 'm=1048576'), /memory 1048576 KiB is above the import bound of 262144 KiB/],
      ['argon2i at t=17', ARGON2I.replace('t=1', 't=17'), /passes t=17 is above the import bound of 16/],
      ['argon2i with a 4-byte digest', ARGON2I.replace(/\$[^$]+$/, '$AAAAAA'), /digest is shorter than 16 bytes/],
      ['argon2d', ARGON2I.replace('argon2i', 'argon2d'), /looks like a argon2 hash but is malformed/],
      ['an MD5-crypt hash', '$1$salt$qJH7.N4xYta3aEG/dfqo/0', /not a supported hash format/],
      ['an unsalted SHA-1', '$salted-sha1$salt-first$$4ynUBUr/OQVsCQQZk/6FmoYdJy8=', /empty salt \(unsalted hashes are not taken\)/],
      ['a salted SHA-1 with a 19-byte digest', '$salted-sha1$salt-first$TmFDbA==$4ynUBUr/OQVsCQQZk/6FmoYdJw==', /19 bytes, not 20/],
    ];
    for (const [what, stored, reason] of cases) {
      it(`refuses ${what}`, () => {
        const result = checkImportableHash(stored, { allowWeak: true });
        assert.equal(result.ok, false);
        if (!result.ok) {
          assert.match(result.reason, reason);
          if (stored.length > 8) assert.ok(!result.reason.includes(stored), 'the reason never quotes the hash');
        }
      });
    }

    it('takes bcrypt at cost 16 and argon2 at 256 MiB, t=16, p=16', () => {
      assert.equal(checkImportableHash(BCRYPT.replace('$12$', '$16$')).ok, true);
      assert.equal(checkImportableHash(ARGON2I.replace('m=256,t=1,p=1', 'm=262144,t=16,p=16')).ok, true);
    });
  });
});

describe('hash encodings', () => {
  it('reads base64 strictly: padding as asked, canonical trailing bits', () => {
    assert.deepEqual(decodeBase64('Bw==', 'padded'), Buffer.from([7]));
    assert.equal(decodeBase64('Bw', 'padded'), undefined);
    assert.deepEqual(decodeBase64('Bw', 'unpadded'), Buffer.from([7]));
    assert.equal(decodeBase64('Bw==', 'unpadded'), undefined);
    assert.equal(decodeBase64('Bx', 'unpadded'), undefined, 'non-zero trailing bits');
    assert.equal(decodeBase64('B', 'unpadded'), undefined);
    assert.equal(decodeBase64('B-w=', 'padded'), undefined);
  });

  it("reads passlib's ab64 ('.' for '+')", () => {
    assert.deepEqual(decodeAb64('.w'), Buffer.from([0xfb]));
    assert.equal(decodeAb64('+w'), undefined);
  });

  it('writes the crypt(3) alphabet little-endian, n + 1 characters for a last group of n bytes', () => {
    assert.equal(encodeCrypt64(Buffer.from([0, 0, 0])), '....');
    assert.equal(encodeCrypt64(Buffer.from([1])), '/.');
    assert.equal(encodeCrypt64(Buffer.from([0xff, 0xff])), 'zzD'); // 16 bits: 6 + 6 + 4
  });
});
