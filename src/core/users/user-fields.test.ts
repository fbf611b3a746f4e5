import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../errors.js';
import { loginKey, normalizeEmail, normalizeFullName, normalizeUsername, usernameKey } from './user-fields.js';

function assertInvalid(fn: () => unknown, field: string, message?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ValidationError, String(error));
    assert.equal(error.code, 'ERR_VALIDATION');
    assert.equal(error.field, field);
    if (message) assert.match(error.message, message);
    return true;
  });
}

describe('normalizeUsername', () => {
  it('accepts 3 to 64 characters and refuses 2 and 65', () => {
    assert.equal(normalizeUsername('abc'), 'abc');
    assert.equal(normalizeUsername('a'.repeat(64)), 'a'.repeat(64));
    assertInvalid(() => normalizeUsername('ab'), 'username', /3 to 64/);
    assertInvalid(() => normalizeUsername('a'.repeat(65)), 'username', /3 to 64/);
    assertInvalid(() => normalizeUsername(''), 'username');
  });

  it('counts characters in code points', () => {
    assert.equal(normalizeUsername('日本語'), '日本語');
    assert.equal(normalizeUsername('𐐷'.repeat(64)), '𐐷'.repeat(64));
    assertInvalid(() => normalizeUsername('𐐷𐐷'), 'username', /3 to 64/);
  });

  it('accepts letters, marks, digits and . _ @ + -', () => {
    for (const name of ['alice', 'Alice.Smith', 'bob_99', 'carol+test@example.com', 'd-e', 'José', 'Ærøskøbing', 'user٣']) {
      assert.equal(normalizeUsername(name), name.normalize('NFKC'), name);
    }
  });

  it('refuses spaces, slashes, quotes, control characters and symbols', () => {
    for (const name of ['al ice', 'al/ice', "al'ice", 'al"ice', 'alice\n', 'al\u0000ice', 'al#ice', 'alice!', '<alice>', 'al\u200Bice']) {
      assertInvalid(() => normalizeUsername(name), 'username', /only letters, digits/);
    }
  });

  it('returns the NFKC form and keeps the case', () => {
    assert.equal(normalizeUsername('ａｌｉｃｅ'), 'alice');
    assert.equal(normalizeUsername('Ａｌｉｃｅ'), 'Alice');
    assert.equal(normalizeUsername('Alice'), 'Alice');
  });

  it('does not trim surrounding whitespace (it is refused instead)', () => {
    assertInvalid(() => normalizeUsername(' alice'), 'username');
  });
});

describe('usernameKey', () => {
  it("gives 'Alice', 'alice', 'ALICE' and fullwidth 'ａｌｉｃｅ' the same key", () => {
    const keys = ['Alice', 'alice', 'ALICE', 'ａｌｉｃｅ', 'Ａｌｉｃｅ'].map((name) => usernameKey(normalizeUsername(name)));
    assert.deepEqual(new Set(keys), new Set(['alice']));
  });

  it('gives different names different keys', () => {
    assert.notEqual(usernameKey('alice'), usernameKey('alice2'));
    assert.notEqual(usernameKey('alice'), usernameKey('álice'));
  });

  it('is total: any string gets a key', () => {
    assert.equal(usernameKey(''), '');
    assert.equal(usernameKey('Not A Valid Name!'), 'not a valid name!');
  });
});

describe('loginKey', () => {
  it('returns the username key of a valid username', () => {
    assert.equal(loginKey('Alice'), 'alice');
    assert.equal(loginKey('ａｌｉｃｅ'), 'alice');
  });

  it('returns undefined for a username that could never name an account', () => {
    for (const name of ['', 'ab', 'a'.repeat(65), 'al ice', 'alice\u0000', "' OR 1=1 --"]) {
      assert.equal(loginKey(name), undefined, JSON.stringify(name));
    }
  });
});

describe('normalizeEmail', () => {
  it('returns a valid address trimmed and unchanged otherwise', () => {
    assert.equal(normalizeEmail('alice@example.com'), 'alice@example.com');
    assert.equal(normalizeEmail('  Alice.Smith+tag@mail.example.co.uk '), 'Alice.Smith+tag@mail.example.co.uk');
  });

  it('returns null for an absent or empty address', () => {
    assert.equal(normalizeEmail(undefined), null);
    assert.equal(normalizeEmail(null), null);
    assert.equal(normalizeEmail(''), null);
  });

  it('refuses invalid addresses', () => {
    for (const email of [
      'alice',
      'alice@',
      '@example.com',
      'alice@example',
      'alice@@example.com',
      'alice smith@example.com',
      'alice@exa mple.com',
      'alice@-example.com',
      'alice@example..com',
      'alice@example.com\u0000',
      'alice@exämple.com',
    ]) {
      assertInvalid(() => normalizeEmail(email), 'email', /Invalid e-mail/);
    }
  });

  it('refuses an address longer than 254 characters', () => {
    const local = 'a'.repeat(64);
    const label = 'b'.repeat(63);
    const address = (labels: number) => `${local}@${Array.from({ length: labels }, () => label).join('.')}.com`;
    assert.ok(address(2).length <= 254);
    assert.equal(normalizeEmail(address(2)), address(2));
    assert.ok(address(3).length > 254);
    assertInvalid(() => normalizeEmail(address(3)), 'email');
  });
});

describe('normalizeFullName', () => {
  it('trims and keeps the name otherwise', () => {
    assert.equal(normalizeFullName('  Alice Wonderland \t'), 'Alice Wonderland');
    assert.equal(normalizeFullName('Zoë Ó Súilleabháin'), 'Zoë Ó Súilleabháin');
  });

  it('applies NFC', () => {
    assert.equal(normalizeFullName('Zoe\u0308'), 'Zo\u00EB');
  });

  it('returns null for absent, empty or blank names', () => {
    assert.equal(normalizeFullName(undefined), null);
    assert.equal(normalizeFullName(null), null);
    assert.equal(normalizeFullName(''), null);
    assert.equal(normalizeFullName('   '), null);
  });

  it('refuses control characters inside the name', () => {
    for (const name of [
      'Alice\u0000Smith',
      'Alice\nSmith',
      'Alice\u001BSmith',
      'Alice\u007FSmith',
      'Alice\u0085Smith',
      'Alice\u2028Smith',
    ]) {
      assertInvalid(() => normalizeFullName(name), 'full_name', /control characters/);
    }
  });

  it('accepts 200 characters and refuses 201', () => {
    assert.equal(normalizeFullName('é'.repeat(200)), 'é'.repeat(200));
    assertInvalid(() => normalizeFullName('é'.repeat(201)), 'full_name', /at most 200/);
  });
});
