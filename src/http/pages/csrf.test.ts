import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CsrfTokens } from './csrf.js';

describe('CsrfTokens', () => {
  const tokens = new CsrfTokens('a-secret-key-that-is-long-enough-0123456789');

  it('accepts the token of the cookie value and session it was made for', () => {
    const secret = tokens.newSecret();
    assert.ok(tokens.matches(tokens.tokenFor(secret, undefined), secret, undefined));
    assert.ok(tokens.matches(tokens.tokenFor(secret, 'session-1'), secret, 'session-1'));
  });

  it('refuses a missing token, another cookie value, another session and another key', () => {
    const secret = tokens.newSecret();
    const token = tokens.tokenFor(secret, 'session-1');
    assert.equal(tokens.matches(undefined, secret, 'session-1'), false);
    assert.equal(tokens.matches(token, undefined, 'session-1'), false);
    assert.equal(tokens.matches(token, tokens.newSecret(), 'session-1'), false);
    assert.equal(tokens.matches(token, secret, 'session-2'), false);
    assert.equal(tokens.matches(token, secret, undefined), false);
    assert.equal(tokens.matches(`${token}x`, secret, 'session-1'), false);
    const other = new CsrfTokens('another-secret-key-that-is-long-enough-012345');
    assert.equal(other.matches(token, secret, 'session-1'), false);
  });
});
