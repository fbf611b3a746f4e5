import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newRecoveryCode, normalizeRecoveryCode, recoveryCodeHash } from './recovery-codes.js';

describe('recovery codes', () => {
  it('are four groups of four base32 characters (80 bits), all different', () => {
    const codes = Array.from({ length: 50 }, newRecoveryCode);
    for (const code of codes) assert.match(code, /^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);
    assert.equal(new Set(codes).size, codes.length);
  });

  it('are read without case, spaces or dashes; anything else is no code', () => {
    const code = newRecoveryCode();
    const plain = code.replace(/-/g, '');
    assert.equal(normalizeRecoveryCode(code.toUpperCase()), plain);
    assert.equal(normalizeRecoveryCode(` ${plain.slice(0, 8)} ${plain.slice(8)} `), plain);
    assert.equal(normalizeRecoveryCode('abc'), undefined);
    assert.equal(normalizeRecoveryCode('0000-0000-0000-0000'), undefined);
  });

  it('are stored as a SHA-256 (hex), never as themselves', () => {
    const plain = normalizeRecoveryCode(newRecoveryCode())!;
    const hash = recoveryCodeHash(plain);
    assert.match(hash, /^[0-9a-f]{64}$/);
    assert.ok(!hash.includes(plain));
  });
});
