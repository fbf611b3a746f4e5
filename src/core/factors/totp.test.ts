import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import { matchTotp, newTotpSecret, totpUri } from './totp.js';

const T0 = Date.parse('2026-12-01T09:00:00Z');

function codeAt(secret: string, ms: number): string {
  return new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp: ms });
}

describe('TOTP', () => {
  const secret = newTotpSecret();
  const step = Math.floor(T0 / 30_000);

  it('accepts the current code and says its step', () => {
    assert.equal(matchTotp(secret, codeAt(secret, T0), T0), step);
  });

  it('accepts a code one step either side, and refuses two', () => {
    assert.equal(matchTotp(secret, codeAt(secret, T0 - 30_000), T0), step - 1);
    assert.equal(matchTotp(secret, codeAt(secret, T0 + 30_000), T0), step + 1);
    assert.equal(matchTotp(secret, codeAt(secret, T0 - 60_000), T0), undefined);
    assert.equal(matchTotp(secret, codeAt(secret, T0 + 60_000), T0), undefined);
  });

  it('refuses what is not six digits', () => {
    assert.equal(matchTotp(secret, 'abcdef', T0), undefined);
    assert.equal(matchTotp(secret, '1234567', T0), undefined);
  });

  it('makes a URI that carries issuer, label and secret', () => {
    const uri = totpUri(secret, 'portcullis.test', 'alice');
    assert.match(uri, /^otpauth:\/\/totp\/portcullis\.test:alice\?/);
    assert.ok(uri.includes(`secret=${secret}`));
  });
});
