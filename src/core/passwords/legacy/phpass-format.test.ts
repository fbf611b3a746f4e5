import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LEGACY_HASHES } from '../../../../test/helpers/legacy-hashes.js';
import { identifyPhpass, PHPASS_MAX_LOG2_ITERATIONS } from './phpass-format.js';

/** Published vectors, as passlib's test suite collects them: phpass 0.3's source, John the Ripper 1.7.9, and passlib's own. */
const PUBLISHED: Array<[password: string, stored: string]> = [
  ['test12345', '$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0'],
  ['test1', '$H$9aaaaaSXBjgypwqm.JsMssPLiS8YQ00'],
  ['123456', '$H$9PE8jEklgZhgLmZl5.HYJAzfGCQtzi1'],
  ['123456', '$H$9pdx7dbOW3Nnt32sikrjAxYFjX8XoK1'],
  ['thisisalongertestPW', '$P$912345678LIjjb6PhecupozNBmDndU0'],
  ['JohnRipper', '$P$612345678si5M0DDyPpmRCmcltU/YW/'],
  ['JohnRipper', '$H$712345678WhEyvy1YWzT4647jzeOmo0'],
  ['JohnRipper', '$P$B12345678L6Lpt4BxNotVIMILOa9u81'],
  ['', '$P$7JaFQsPzJSuenezefD/3jHgt5hVfNH0'],
  ['compL3X!', '$P$FiS0N5L672xzQx1rt1vgdJQRYKnQM9/'],
  ['t\u00e1\u0411\u2113\u0259', '$P$7SMy8VxnfsIy2Sxm7fJxDSdil.h7TW.'],
];

function verify(stored: string, password: string): boolean {
  const identified = identifyPhpass(stored);
  assert.ok(identified && identified.verification.op === 'legacy-verify', stored);
  return identified.verification.sync(password);
}

describe('phpass $P$ and $H$', () => {
  it('verifies the published vectors (phpass, John the Ripper, passlib; UTF-8 passwords)', () => {
    for (const [password, stored] of PUBLISHED) {
      assert.equal(verify(stored, password), true, stored);
      // $P$F costs 2^17 rounds: one check of it is enough.
      if (!stored.startsWith('$P$F')) assert.equal(verify(stored, password + 'x'), false, stored);
    }
  });

  it("verifies what PHP (phpass's portable hashing) and passlib wrote", () => {
    const made = LEGACY_HASHES.filter((fixture) => /phpass/.test(fixture.source));
    assert.ok(made.length >= 10);
    for (const { source, password, hash } of made) {
      assert.equal(verify(hash, password), true, `${source}: ${hash}`);
      assert.equal(verify(hash, password.slice(1)), false, source);
    }
  });

  it(`refuses at import costs above 2^${PHPASS_MAX_LOG2_ITERATIONS} and below phpass's 2^7`, () => {
    assert.deepEqual(identifyPhpass('$P$B12345678L6Lpt4BxNotVIMILOa9u81')?.params, { log2Iterations: 13 });
    assert.equal(identifyPhpass('$P$G12345678L6Lpt4BxNotVIMILOa9u81')?.refusal, undefined); // 2^18
    assert.match(identifyPhpass('$P$H12345678L6Lpt4BxNotVIMILOa9u81')?.refusal ?? '', /2\^19 is above the import bound/);
    assert.match(identifyPhpass('$P$412345678L6Lpt4BxNotVIMILOa9u81')?.refusal ?? '', /not a valid phpass cost/);
  });

  it('reads only whole $P$/$H$ strings', () => {
    for (const stored of [
      '$P$B12345678L6Lpt4BxNotVIMILOa9u8',
      '$S$B12345678L6Lpt4BxNotVIMILOa9u81',
      '$P$B1234567!L6Lpt4BxNotVIMILOa9u81',
    ]) {
      assert.equal(identifyPhpass(stored), undefined, stored);
    }
  });
});
