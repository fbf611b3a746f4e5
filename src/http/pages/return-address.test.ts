import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loginHintOf, returnAddress, returnAfterSignIn } from './return-address.js';

describe('the sign-in return address', () => {
  it('takes a local /authorize URL', () => {
    assert.equal(returnAddress('/authorize?client_id=a&state=b'), '/authorize?client_id=a&state=b');
  });

  it('refuses anything else: other paths, other hosts, scheme-relative and backslash tricks, whitespace, non-strings', () => {
    for (const value of [
      '/account',
      '/authorize',
      '/authorizex?a=1',
      'https://evil.example/authorize?a=1',
      '//evil.example/authorize?a=1',
      '/\\evil.example/authorize?a=1',
      '/authorize?a=1\\@evil',
      '/authorize?a=1 b',
      '/authorize/../account?x',
      '/authorize?' + 'a'.repeat(9000),
      undefined,
      ['/authorize?a=1'],
    ]) {
      assert.equal(returnAddress(value), undefined, String(value));
    }
  });

  it('drops what forced the sign-in (prompt=login, max_age) and keeps the rest', () => {
    const back = returnAfterSignIn(new URLSearchParams('client_id=a&prompt=login+consent&max_age=0&state=s'));
    const query = new URL(back, 'http://x').searchParams;
    assert.equal(query.get('prompt'), 'consent');
    assert.equal(query.get('max_age'), null);
    assert.equal(query.get('state'), 's');
    assert.equal(new URL(returnAfterSignIn(new URLSearchParams('prompt=login')), 'http://x').searchParams.get('prompt'), null);
  });

  it('reads login_hint for the username field', () => {
    assert.equal(loginHintOf('/authorize?login_hint=alice%40example.com'), 'alice@example.com');
    assert.equal(loginHintOf('/authorize?x=1'), undefined);
  });
});
