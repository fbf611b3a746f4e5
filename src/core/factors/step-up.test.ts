import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InsufficientUserAuthenticationError } from '../errors.js';
import { ACR_MFA, ACR_SINGLE_FACTOR } from './factor.js';
import { requireLogin } from './step-up.js';

const NOW = Date.parse('2026-12-01T09:00:00Z');
const AT = NOW / 1000;

describe('requireLogin (RFC 9470 step-up)', () => {
  it('mfa needs acr urn:portcullis:acr:mfa, and says so in acr_values', () => {
    assert.doesNotThrow(() => requireLogin({ acr: ACR_MFA, auth_time: AT }, { mfa: true }, NOW));
    assert.throws(
      () => requireLogin({ acr: ACR_SINGLE_FACTOR, auth_time: AT }, { mfa: true }, NOW),
      (error: unknown) => error instanceof InsufficientUserAuthenticationError && error.acrValues?.[0] === ACR_MFA,
    );
  });

  it('maxAgeSeconds needs auth_time no older, and says max_age', () => {
    assert.doesNotThrow(() => requireLogin({ auth_time: AT - 300 }, { maxAgeSeconds: 300 }, NOW));
    assert.throws(
      () => requireLogin({ auth_time: AT - 301 }, { maxAgeSeconds: 300 }, NOW),
      (error: unknown) => error instanceof InsufficientUserAuthenticationError && error.maxAgeSeconds === 300,
    );
    assert.throws(() => requireLogin({}, { maxAgeSeconds: 300 }, NOW), InsufficientUserAuthenticationError);
  });

  it('asks nothing when nothing is required', () => {
    assert.doesNotThrow(() => requireLogin({}, {}, NOW));
  });
});
