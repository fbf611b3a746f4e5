import assert from 'node:assert/strict';
import { Script } from 'node:vm';
import { describe, it } from 'node:test';
import { InvalidWebAuthnResponseError } from '../../core/errors.js';
import { WEBAUTHN_PAGE_SCRIPT, webauthnAnswer, webauthnForm } from './webauthn-page-script.js';

describe('the WebAuthn page script', () => {
  it('compiles, and reads nothing from the page but its forms', () => {
    assert.doesNotThrow(() => new Script(WEBAUTHN_PAGE_SCRIPT));
    assert.doesNotMatch(WEBAUTHN_PAGE_SCRIPT, /innerHTML|eval\(|new Function/);
  });

  it('writes the options into an attribute, escaped', () => {
    const markup = webauthnForm({
      action: '/x',
      csrfToken: 't',
      ceremony: 'register',
      options: { json: { challenge: '"><script>' } },
      submit: 'Go',
    }).toString();
    assert.match(markup, /data-webauthn-options="\{&quot;challenge&quot;:&quot;\\&quot;&gt;&lt;script&gt;&quot;\}"/);
    assert.doesNotMatch(markup, /<script/);
  });

  it('parses the answer as a JSON object, and refuses anything else', () => {
    assert.deepEqual(webauthnAnswer({ webauthn_response: '{"id":"a"}' }), { id: 'a' });
    for (const text of [undefined, '', 'nope', '[]', 'null', '{"__proto__":{}}']) {
      assert.throws(() => webauthnAnswer({ webauthn_response: text }), InvalidWebAuthnResponseError, String(text));
    }
  });
});
