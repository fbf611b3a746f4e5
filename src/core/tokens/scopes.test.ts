import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatScopes, grantScopes, heldScopes, isScopeToken, parseScopeList, parseScopeParameter, grantUserScopes } from './scopes.js';

describe('isScopeToken', () => {
  it('accepts printable ASCII other than space, " and \\', () => {
    for (const scope of ['me', 'items:read', 'https://api.example/write', '!#$%&()*+,-./', '[]^_`{|}~', 'A1']) {
      assert.equal(isScopeToken(scope), true, scope);
    }
  });

  it('refuses the empty string, space, ", \\, control characters and non-ASCII', () => {
    for (const scope of ['', ' ', 'a b', 'a"b', 'a\\b', 'a\tb', 'a\nb', 'a\u0000b', 'a\u007Fb', 'café', 'ｍｅ']) {
      assert.equal(isScopeToken(scope), false, JSON.stringify(scope));
    }
  });

  it('accepts 128 characters and refuses 129', () => {
    assert.equal(isScopeToken('a'.repeat(128)), true);
    assert.equal(isScopeToken('a'.repeat(129)), false);
  });
});

describe('parseScopeList', () => {
  it('splits on spaces, commas and other whitespace, dropping empty parts', () => {
    assert.deepEqual(parseScopeList(' me, items\tadmin\n,,reports '), ['me', 'items', 'admin', 'reports']);
  });

  it('returns an empty list for an empty or blank value', () => {
    assert.deepEqual(parseScopeList(''), []);
    assert.deepEqual(parseScopeList(' , '), []);
  });

  it('removes duplicates and keeps the first-seen order', () => {
    assert.deepEqual(parseScopeList('b a b c a'), ['b', 'a', 'c']);
  });

  it('keeps scopes case-sensitive', () => {
    assert.deepEqual(parseScopeList('Me me'), ['Me', 'me']);
  });

  it('throws TypeError naming a bad scope', () => {
    assert.throws(() => parseScopeList('me it"ems'), { name: 'TypeError', message: /invalid scope "it\\"ems"/ });
    assert.throws(() => parseScopeList('me café'), TypeError);
  });

  it('accepts 64 distinct scopes and refuses 65', () => {
    const scopes = (count: number) => Array.from({ length: count }, (_, i) => `s${i}`).join(' ');
    assert.equal(parseScopeList(scopes(64)).length, 64);
    assert.throws(() => parseScopeList(scopes(65)), TypeError);
  });

  it('counts scopes after removing duplicates', () => {
    assert.deepEqual(parseScopeList(Array.from({ length: 100 }, () => 'me').join(' ')), ['me']);
  });
});

describe('parseScopeParameter', () => {
  it('splits on single spaces and tolerates repeated or surrounding spaces', () => {
    assert.deepEqual(parseScopeParameter('me items'), ['me', 'items']);
    assert.deepEqual(parseScopeParameter('  me   items '), ['me', 'items']);
  });

  it('returns an empty list for an empty value', () => {
    assert.deepEqual(parseScopeParameter(''), []);
  });

  it('removes duplicates', () => {
    assert.deepEqual(parseScopeParameter('me items me'), ['me', 'items']);
  });

  it('returns undefined for commas, tabs or characters outside the scope syntax', () => {
    assert.equal(parseScopeParameter('me\titems'), undefined);
    assert.equal(parseScopeParameter('me "items"'), undefined);
    assert.equal(parseScopeParameter('me\\items'), undefined);
    assert.equal(parseScopeParameter('mé'), undefined);
  });

  it('treats a comma as part of a scope token, not as a separator', () => {
    assert.deepEqual(parseScopeParameter('me,items'), ['me,items']);
  });
});

describe('grantScopes', () => {
  const held = ['me', 'items', 'admin'];

  it('grants everything held when no scopes are requested', () => {
    assert.deepEqual(grantScopes(held, undefined), held);
  });

  it('returns a copy, not the held array itself', () => {
    const granted = grantScopes(held, undefined);
    granted.push('extra');
    assert.deepEqual(held, ['me', 'items', 'admin']);
  });

  it('grants the intersection of requested and held scopes, in the requested order', () => {
    assert.deepEqual(grantScopes(held, ['items', 'reports', 'me']), ['items', 'me']);
  });

  it('grants nothing when an empty list is requested', () => {
    assert.deepEqual(grantScopes(held, []), []);
  });

  it('grants nothing that is not held', () => {
    assert.deepEqual(grantScopes([], ['admin']), []);
    assert.deepEqual(grantScopes(['me'], ['Me', 'ME']), []);
  });
});

describe('heldScopes', () => {
  it("keeps the token's scopes the holder still holds, and drops the others", () => {
    assert.deepEqual([...heldScopes('admin me items', ['me', 'items'])], ['me', 'items']);
    assert.deepEqual([...heldScopes('admin me', [])], []);
  });

  it('never adds a scope the token was not issued with', () => {
    assert.deepEqual([...heldScopes('me', ['admin', 'me'])], ['me']);
    assert.deepEqual([...heldScopes('', ['admin'])], []);
  });

  it('compares case-sensitively, and ignores repeated spaces', () => {
    assert.deepEqual([...heldScopes('Admin  me', ['admin', 'me'])], ['me']);
  });
});

describe('formatScopes', () => {
  it('joins scopes with single spaces', () => {
    assert.equal(formatScopes(['me', 'items']), 'me items');
    assert.equal(formatScopes([]), '');
  });
});

describe('grantUserScopes', () => {
  it('keeps the requested identity scopes, and of the permissions only those the user holds', () => {
    assert.deepEqual(grantUserScopes(['read'], ['openid', 'read', 'admin', 'email']), ['openid', 'read', 'email']);
    assert.deepEqual(grantUserScopes([], ['profile']), ['profile']);
  });

  it('never counts an identity scope as a held permission', () => {
    assert.deepEqual([...heldScopes('openid read', ['read'])], ['read']);
  });
});
