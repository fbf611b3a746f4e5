import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LEGACY_HASHES } from '../../../../test/helpers/legacy-hashes.js';
import { identifyShaCrypt, SHA_CRYPT_MAX_ROUNDS } from './sha-crypt-format.js';

/** The test vectors of Ulrich Drepper's specification, "Unix crypt using SHA-256 and SHA-512" (the expected strings). */
const DREPPER: Array<[password: string, stored: string]> = [
  ['Hello world!', '$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5'],
  ['Hello world!', '$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA'],
  ['This is just a test', '$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5'],
  [
    'a very much longer text to encrypt.  This one even stretches over morethan one line.',
    '$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1',
  ],
  ['we have a short salt string but not a short password', '$5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/'],
  ['a short string', '$5$rounds=123456$asaltof16chars..$gP3VQ/6X7UUEW3HkBn2w1/Ptq2jxPyzV/cZKmF/wJvD'],
  ['the minimum number is still observed', '$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC'],
  ['Hello world!', '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1'],
  [
    'Hello world!',
    '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.',
  ],
  [
    'This is just a test',
    '$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0',
  ],
  [
    'a very much longer text to encrypt.  This one even stretches over morethan one line.',
    '$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1',
  ],
  [
    'we have a short salt string but not a short password',
    '$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0',
  ],
  [
    'a short string',
    '$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1',
  ],
  [
    'the minimum number is still observed',
    '$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.',
  ],
];

function verify(stored: string, password: string): boolean {
  const identified = identifyShaCrypt(stored);
  assert.ok(identified && identified.verification.op === 'legacy-verify', stored);
  return identified.verification.sync(password);
}

describe('SHA-crypt $5$ and $6$', () => {
  // Two of them cost 123,456 rounds (about a second for both): run once here.
  it("verifies the published vectors of Drepper's specification", () => {
    for (const [password, stored] of DREPPER) assert.equal(verify(stored, password), true, stored);
  });

  it('refuses a wrong password, and the password with a byte more or less', () => {
    for (const [password, stored] of DREPPER.filter(([, stored]) => !/rounds=(77777|123456)/.test(stored))) {
      for (const wrong of [password + '!', password.slice(0, -1), password.toUpperCase()])
        assert.equal(verify(stored, wrong), false, stored);
    }
  });

  it('verifies what openssl passwd -5/-6, PHP crypt() and passlib wrote, 32- and 64-byte passwords included', () => {
    const made = LEGACY_HASHES.filter((fixture) => /^(openssl passwd|php crypt|passlib sha(256|512)_crypt)/.test(fixture.source));
    assert.ok(made.length >= 20);
    assert.ok(made.some((fixture) => fixture.password.length === 32) && made.some((fixture) => fixture.password.length === 64));
    for (const { source, password, hash } of made) {
      assert.equal(verify(hash, password), true, `${source}: ${hash}`);
      assert.equal(verify(hash, password + 'x'), false, source);
    }
  });

  it('counts rounds below 1,000 as 1,000, as the spec does', () => {
    assert.deepEqual(identifyShaCrypt('$5$rounds=10$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC')?.params, { rounds: 1000 });
    assert.equal(
      verify('$5$rounds=10$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC', 'the minimum number is still observed'),
      true,
    );
  });

  it(`refuses at import more than ${SHA_CRYPT_MAX_ROUNDS} rounds and a digest of the wrong length`, () => {
    const digest6 = 'svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1';
    assert.equal(identifyShaCrypt(`$6$rounds=${SHA_CRYPT_MAX_ROUNDS}$salt$${digest6}`)?.refusal, undefined);
    assert.match(identifyShaCrypt(`$6$rounds=${SHA_CRYPT_MAX_ROUNDS + 1}$salt$${digest6}`)?.refusal ?? '', /above the import bound/);
    assert.match(identifyShaCrypt(`$6$salt$${digest6.slice(1)}`)?.refusal ?? '', /85 characters, not 86/);
    assert.match(identifyShaCrypt(`$5$salt$${digest6}`)?.refusal ?? '', /not 43/);
  });

  it('reads only $5$ and $6$ strings with a salt of at most 16 characters', () => {
    for (const stored of [
      '$1$salt$qJH7.N4xYta3aEG/dfqo/0',
      '$5$saltstringsaltstr$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5',
      '$7$x$y',
      'Hello',
    ]) {
      assert.equal(identifyShaCrypt(stored), undefined, stored);
    }
  });
});
