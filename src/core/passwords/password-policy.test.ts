import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_PASSWORD_LENGTH } from '../config.js';
import { ValidationError } from '../errors.js';
import { codePointLength } from '../text.js';
import { checkPasswordPolicy, normalizePassword, type PasswordPolicy } from './password-policy.js';

const DEFAULT_POLICY: PasswordPolicy = { minLength: 8 };

async function refused(password: string, message: RegExp, username?: string, policy = DEFAULT_POLICY): Promise<void> {
  await assert.rejects(
    checkPasswordPolicy(password, policy, username === undefined ? {} : { username }),
    (error: unknown) =>
      error instanceof ValidationError && error.code === 'ERR_VALIDATION' && error.field === 'password' && message.test(error.message),
  );
}

async function accepted(password: string, username?: string, policy = DEFAULT_POLICY): Promise<void> {
  await checkPasswordPolicy(password, policy, username === undefined ? {} : { username });
}

describe('codePointLength', () => {
  it('counts code points, not UTF-16 units', () => {
    assert.equal(codePointLength('🔑🔑'), 2);
    assert.equal('🔑🔑'.length, 4);
    assert.equal(codePointLength(''), 0);
  });
});

describe('normalizePassword', () => {
  it('applies NFKC', () => {
    assert.equal(normalizePassword('ｐａｓｓｗｏｒｄ１２３'), 'password123');
    assert.equal(normalizePassword('\uFB01'), 'fi');
    assert.equal(normalizePassword('e\u0301'), '\u00E9');
  });
});

describe('checkPasswordPolicy', () => {
  it('accepts 8 characters and refuses 7 at the default minimum', async () => {
    await accepted('kq7#vTz2');
    await refused('kq7#vTz', /at least 8 characters/);
  });

  it('counts emoji as one character each: 8 pass and 7 fail', async () => {
    await accepted('🦊🐙🦉🐝🦀🐢🦔🐬');
    await refused('🦊🐙🦉🐝🦀🐢🦔', /at least 8/);
  });

  it('counts the length after NFKC normalisation', async () => {
    // Four U+FB01 ligatures are 4 characters as typed and 8 ("fifififi") after NFKC.
    await accepted('\uFB01\uFB01\uFB01\uFB01');
    // Seven precomposed-to-be pairs: 14 code points as typed, 7 after NFKC.
    await refused('e\u0301'.repeat(7), /at least 8/);
  });

  it('uses the configured minimum length', async () => {
    const policy = { minLength: 12 };
    await refused('kq7#vTz2abc', /at least 12/, undefined, policy);
    await accepted('kq7#vTz2abcd', undefined, policy);
  });

  it(`accepts ${MAX_PASSWORD_LENGTH} characters and refuses ${MAX_PASSWORD_LENGTH + 1}`, async () => {
    await accepted('x7'.repeat(MAX_PASSWORD_LENGTH / 2));
    await refused(`${'x7'.repeat(MAX_PASSWORD_LENGTH / 2)}q`, /at most 1024/);
  });

  it('refuses common passwords, case-insensitively', async () => {
    for (const password of ['password1', 'Password1', 'PASSWORD1', '12345678', 'password123', 'trustno1']) {
      await refused(password, /too common/);
    }
  });

  it('refuses a common password written in fullwidth characters (NFKC)', async () => {
    await refused('ｐａｓｓｗｏｒｄ１２３', /too common/);
  });

  it('refuses the username as password, case-insensitively and after NFKC', async () => {
    await refused('alice-wonderland', /username/, 'alice-wonderland');
    await refused('Alice-Wonderland', /username/, 'alice-wonderland');
    await refused('ａｌｉｃｅ-wonderland', /username/, 'Alice-Wonderland');
  });

  it('accepts a password that merely contains the username', async () => {
    await accepted('alice-wonderland-7q', 'alice-wonderland');
  });

  it('refuses NUL characters', async () => {
    await refused('kq7#vTz2\u0000x', /NUL/);
  });

  it('imposes no composition rules', async () => {
    await accepted('correct horse battery staple');
    await accepted('zzzzqqqqvvvv');
    await accepted('       mostly spaces       ');
  });
});
