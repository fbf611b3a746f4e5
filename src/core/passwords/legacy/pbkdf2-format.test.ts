import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LEGACY_HASHES } from '../../../../test/helpers/legacy-hashes.js';
import { identifyPbkdf2, PBKDF2_MAX_ITERATIONS } from './pbkdf2-format.js';

/**
 * Published vectors: passlib's (its test suite, for its own and Django's strings), and RFC 7914's
 * PBKDF2-HMAC-SHA256 vector (P = "passwd", S = "salt", c = 1, 64 bytes) in the Keycloak form,
 * whose derived key is as long as the stored value.
 */
const PUBLISHED: Array<[password: string, stored: string]> = [
  ['password', '$pbkdf2-sha256$1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ'],
  ['\u0399\u03c9\u03b1\u03bd\u03bd\u03b7\u03c2', '$pbkdf2-sha256$1212$3SABFJGDtyhrQMVt1uABPw$WyaUoqCLgvz97s523nF4iuOqZNbp5Nt8do/cuaa7AiI'],
  [
    'password',
    '$pbkdf2-sha512$1212$RHY0Fr3IDMSVO/RSZyb5ow$eNLfBK.eVozomMr.1gYa17k9B7KIK25NOEshvhrSX.esqY3s.FvWZViXz4KoLlQI.BzY/YTNJOiKc5gBYFYGww',
  ],
  ['password', '$pbkdf2$1212$OB.dtnSEXZK8U5cgxU/GYQ$y5LKPOplRmok7CZp/aqVDVg8zGI'],
  ['not a password', 'pbkdf2_sha256$10000$kjVJaVz6qsnJ$5yPHw3rwJGECpUf70daLGhOrQ5+AMxIJdz1c3bqK1Rs='],
  ['t\u00e1\u0411\u2113\u0259', 'pbkdf2_sha256$10000$bEwAfNrH1TlQ$OgYUblFNUX1B8GfMqaCYUK/iHyO0pa7STTDdaEJBuY0='],
  ['passwd', 'keycloak-pbkdf2-sha256$1$c2FsdA==$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLxJypzM8Xm2RZkWZLOdd+8xfHG4RbHjC9UJESBB06GXgw=='],
];

function verify(stored: string, password: string): boolean {
  const identified = identifyPbkdf2(stored);
  assert.ok(identified && identified.verification.op === 'legacy-verify', stored);
  return identified.verification.sync(password);
}

describe('PBKDF2: Django, passlib and Keycloak forms', () => {
  it('verifies the published vectors', async () => {
    for (const [password, stored] of PUBLISHED) {
      assert.equal(verify(stored, password), true, stored);
      assert.equal(verify(stored, password + 'x'), false, stored);
      const identified = identifyPbkdf2(stored);
      assert.ok(identified?.verification.op === 'legacy-verify');
      assert.equal(await identified.verification.async(password), true, `${stored} (async)`);
    }
  });

  it('verifies what Django and passlib wrote, and the Keycloak form of hashlib output', () => {
    const made = LEGACY_HASHES.filter((fixture) => /pbkdf2|PBKDF2/.test(fixture.source));
    assert.ok(made.length >= 15);
    for (const { source, password, hash } of made) {
      assert.equal(verify(hash, password), true, `${source}: ${hash}`);
      assert.equal(verify(hash, ''), false, source);
    }
  });

  it('names the scheme and reads the iteration count', () => {
    assert.equal(identifyPbkdf2(PUBLISHED[4]![1])?.scheme, 'pbkdf2_sha256 (Django)');
    assert.equal(identifyPbkdf2(PUBLISHED[2]![1])?.scheme, 'pbkdf2-sha512 (passlib)');
    assert.equal(identifyPbkdf2(PUBLISHED[6]![1])?.scheme, 'pbkdf2-sha256 (Keycloak)');
    assert.deepEqual(identifyPbkdf2(PUBLISHED[0]![1])?.params, { iterations: 1212 });
  });

  it(`refuses at import more than ${PBKDF2_MAX_ITERATIONS} iterations, short or mis-sized digests and bad base64`, () => {
    const django = (iterations: number, digest = '5yPHw3rwJGECpUf70daLGhOrQ5+AMxIJdz1c3bqK1Rs=') =>
      `pbkdf2_sha256$${iterations}$kjVJaVz6qsnJ$${digest}`;
    assert.equal(identifyPbkdf2(django(PBKDF2_MAX_ITERATIONS))?.refusal, undefined);
    assert.match(
      identifyPbkdf2(django(PBKDF2_MAX_ITERATIONS + 1))?.refusal ?? '',
      /iterations 2000001 is above the import bound of 2,000,000/,
    );
    assert.match(identifyPbkdf2(django(10000, 'AAAAAAAAAAAAAAAAAAAAAA=='))?.refusal ?? '', /16 bytes, not 32/);
    assert.match(identifyPbkdf2(django(10000, '5yPHw3rwJGECpUf70daLGhOrQ5+AMxIJdz1c3bqK1Rs'))?.refusal ?? '', /not valid base64/);
    assert.match(identifyPbkdf2('keycloak-pbkdf2-sha256$27500$c2FsdA==$AAAAAAAAAAA=')?.refusal ?? '', /16 to 128 bytes/);
  });

  it('reads no zero-padded or empty iteration counts', () => {
    for (const stored of [
      '$pbkdf2$01212$OB.dtnSEXZK8U5cgxU/GYQ$y5LKPOplRmok7CZp/aqVDVg8zGI',
      '$pbkdf2$$OB.dtnSEXZK8U5cgxU/GYQ$y5LKPOplRmok7CZp/aqVDVg8zGI',
    ]) {
      assert.equal(identifyPbkdf2(stored), undefined, stored);
    }
  });
});
