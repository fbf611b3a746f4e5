/** The verifier's RFC 9470 checks: amr, acr and auth_time as typed claims, and `mfa` / `maxAgeSeconds` on verify(). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { ACR_MFA, assertAuthentication, createVerifier, InsufficientUserAuthenticationError } from './index.js';

const SECRET = 'test-secret-key-that-is-long-enough-0123456789';
const ISSUER = 'http://portcullis.test';
const NOW_MS = Date.parse('2026-12-01T09:00:00Z');
const NOW = NOW_MS / 1000;

function mint(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT({ sub: 'alice', scope: 'me', jti: 'j-1', sid: 's-1', ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setIssuedAt(NOW - 10)
    .setExpirationTime(NOW + 300)
    .sign(new TextEncoder().encode(SECRET));
}

describe('the verifier and step-up (RFC 9470)', () => {
  const verifier = createVerifier({ secret: SECRET, issuer: ISSUER, clock: { now: () => NOW_MS } });

  it('returns amr, acr and auth_time', async () => {
    const token = await verifier.verify(await mint({ amr: ['pwd', 'otp'], acr: ACR_MFA, auth_time: NOW - 10 }));
    assert.deepEqual(token.amr, ['pwd', 'otp']);
    assert.equal(token.acr, ACR_MFA);
    assert.equal(token.authTime, NOW - 10);
  });

  it('refuses a single-factor login where mfa is required, with the RFC 9470 challenge', async () => {
    const token = await mint({ amr: ['pwd'], acr: 'urn:portcullis:acr:pwd', auth_time: NOW - 10 });
    await assert.rejects(verifier.verify(token, { mfa: true }), (error: unknown) => {
      assert.ok(error instanceof InsufficientUserAuthenticationError);
      assert.equal(error.status, 401);
      assert.equal(
        error.wwwAuthenticate,
        'Bearer error="insufficient_user_authentication", error_description="A login with a second factor is required", ' +
          'acr_values="urn:portcullis:acr:mfa"',
      );
      return true;
    });
    assert.equal((await verifier.verify(await mint({ acr: ACR_MFA, auth_time: NOW - 10 }), { mfa: true })).acr, ACR_MFA);
  });

  it('refuses a login older than maxAgeSeconds, with max_age', async () => {
    const token = await mint({ amr: ['pwd'], acr: 'urn:portcullis:acr:pwd', auth_time: NOW - 600 });
    await assert.rejects(verifier.verify(token, { maxAgeSeconds: 300 }), (error: unknown) => {
      assert.ok(error instanceof InsufficientUserAuthenticationError);
      assert.match(error.wwwAuthenticate, /max_age=300$/);
      return true;
    });
    assert.equal((await verifier.verify(token, { maxAgeSeconds: 600 })).authTime, NOW - 600);
  });

  it('a token without the claims meets neither requirement', () => {
    assert.throws(() => assertAuthentication({}, { mfa: true }, NOW_MS), InsufficientUserAuthenticationError);
    assert.throws(() => assertAuthentication({}, { maxAgeSeconds: 60 }, NOW_MS), InsufficientUserAuthenticationError);
    assert.doesNotThrow(() => assertAuthentication({}, {}, NOW_MS));
  });

  it('refuses amr that is not an array of strings', async () => {
    await assert.rejects(verifier.verify(await mint({ amr: 'pwd' })), { code: 'ERR_INVALID_TOKEN' });
  });
});
