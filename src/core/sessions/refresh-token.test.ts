import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashSecret, secretMatches } from '../secrets.js';
import { generateRefreshToken, parseRefreshToken, SuccessorSealer } from './refresh-token.js';

const KEY = 'unit-test-secret-key-0123456789abcdef';

describe('refresh tokens', () => {
  it('are <128-bit id>.<256-bit secret> in base64url, and the stored hash matches only the secret', () => {
    const token = generateRefreshToken();
    const parsed = parseRefreshToken(token.token);
    assert.ok(parsed);
    assert.equal(parsed.id, token.id);
    assert.equal(Buffer.from(parsed.id, 'base64url').length, 16);
    assert.equal(Buffer.from(parsed.secret, 'base64url').length, 32);
    assert.equal(token.secretHash, hashSecret(parsed.secret));
    assert.ok(secretMatches(parsed.secret, token.secretHash));
    const other = `${parsed.secret[0] === 'A' ? 'B' : 'A'}${parsed.secret.slice(1)}`;
    assert.ok(!secretMatches(other, token.secretHash));
    assert.ok(!token.secretHash.includes(parsed.secret));
  });

  it('are never the same twice', () => {
    const seen = new Set(Array.from({ length: 200 }, () => generateRefreshToken().token));
    assert.equal(seen.size, 200);
  });

  it('refuse anything that is not of their shape', () => {
    for (const bad of [
      '',
      'abc',
      'a.b',
      `${'A'.repeat(22)}.${'A'.repeat(42)}`,
      `${'A'.repeat(22)}.${'A'.repeat(43)}.x`,
      `${'A'.repeat(22)}:${'A'.repeat(43)}`,
    ]) {
      assert.equal(parseRefreshToken(bad), undefined, bad);
    }
  });
});

describe('SuccessorSealer', () => {
  it('opens what it sealed, for the same retired token only', () => {
    const sealer = new SuccessorSealer(KEY);
    const successor = generateRefreshToken().token;
    const sealed = sealer.seal(successor, 'retired-1');
    assert.ok(!sealed.includes(successor));
    assert.equal(sealer.open(sealed, 'retired-1'), successor);
    assert.equal(sealer.open(sealed, 'retired-2'), undefined);
  });

  it('refuses a box sealed under another key, or tampered with', () => {
    const sealed = new SuccessorSealer(KEY).seal('token', 'r');
    assert.equal(new SuccessorSealer(`${KEY}-other`).open(sealed, 'r'), undefined);
    const bytes = Buffer.from(sealed, 'base64url');
    bytes[14] = (bytes[14] ?? 0) ^ 1;
    assert.equal(new SuccessorSealer(KEY).open(bytes.toString('base64url'), 'r'), undefined);
    assert.equal(new SuccessorSealer(KEY).open('short', 'r'), undefined);
  });

  it('uses a fresh nonce every time', () => {
    const sealer = new SuccessorSealer(KEY);
    assert.notEqual(sealer.seal('same', 'r'), sealer.seal('same', 'r'));
  });
});
