import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { isS256Challenge, verifierMatches } from './authorization-code.js';

// RFC 7636 Appendix B.
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

describe('PKCE S256', () => {
  it('matches the verifier of RFC 7636 Appendix B to its challenge', () => {
    assert.equal(createHash('sha256').update(VERIFIER).digest('base64url'), CHALLENGE);
    assert.equal(verifierMatches(VERIFIER, CHALLENGE), true);
  });

  it('refuses another verifier, a malformed one, and a challenge that is no S256 value', () => {
    assert.equal(verifierMatches(`${VERIFIER.slice(0, -1)}Y`, CHALLENGE), false);
    assert.equal(verifierMatches('short', CHALLENGE), false);
    assert.equal(verifierMatches(`${VERIFIER} `, CHALLENGE), false);
    assert.equal(verifierMatches('x'.repeat(129), CHALLENGE), false);
    assert.equal(verifierMatches(VERIFIER, VERIFIER), false, 'plain: the verifier as its own challenge');
    assert.equal(isS256Challenge(CHALLENGE), true);
    assert.equal(isS256Challenge(`${CHALLENGE}=`), false);
  });
});
