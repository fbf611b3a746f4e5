import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidRequestError } from '../../core/errors.js';
import { parseFormBody, parseJsonBody } from './body-parsers.js';

function assertInvalidRequest(fn: () => unknown, message?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof InvalidRequestError, String(error));
    assert.equal(error.code, 'ERR_INVALID_REQUEST');
    if (message) assert.match(error.message, message);
    return true;
  });
}

describe('parseFormBody', () => {
  it("parses the guide's login form", () => {
    assert.deepEqual(
      { ...parseFormBody('grant_type=password&username=johndoe&password=secret&scope=') },
      { grant_type: 'password', username: 'johndoe', password: 'secret', scope: '' },
    );
  });

  it("decodes '+' as a space and %2B as a plus", () => {
    assert.deepEqual({ ...parseFormBody('scope=me+items&password=a%2Bb+c') }, { scope: 'me items', password: 'a+b c' });
  });

  it('percent-decodes names and values as UTF-8', () => {
    assert.deepEqual(
      { ...parseFormBody('pass%77ord=p%C3%A4ss%20w%C3%B6rd%F0%9F%94%91&x=%26%3D') },
      {
        password: 'päss wörd🔑',
        x: '&=',
      },
    );
  });

  it('reads a parameter without = as empty and skips empty pairs', () => {
    assert.deepEqual({ ...parseFormBody('a&&b=2&') }, { a: '', b: '2' });
  });

  it('keeps = inside a value', () => {
    assert.deepEqual({ ...parseFormBody('token=abc==') }, { token: 'abc==' });
  });

  it('returns an empty object without a prototype for an empty body', () => {
    const fields = parseFormBody('');
    assert.deepEqual(Object.keys(fields), []);
    assert.equal(Object.getPrototypeOf(fields), null);
  });

  it('does not let __proto__ or constructor reach the prototype', () => {
    const fields = parseFormBody('__proto__=x&constructor=y&toString=z');
    assert.equal(Object.getPrototypeOf(fields), null);
    assert.equal(fields['__proto__'], 'x');
    assert.equal(fields['constructor'], 'y');
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });

  it('refuses a repeated parameter, also when spelled differently', () => {
    assertInvalidRequest(() => parseFormBody('username=a&username=b'), /"username" is given more than once/);
    assertInvalidRequest(() => parseFormBody('username=a&user%6Eame=a'), /more than once/);
    assertInvalidRequest(() => parseFormBody('scope=&scope='), /more than once/);
  });

  it('refuses malformed percent-encoding', () => {
    for (const body of ['password=%E0%A4%A', 'password=%', 'password=%G0', 'password=100%', 'pass%2=x']) {
      assertInvalidRequest(() => parseFormBody(body), /malformed percent-encoding/);
    }
  });

  it('refuses percent-encoded bytes that are not UTF-8', () => {
    for (const body of ['password=%FF', 'password=%C3', 'password=%C0%AF', 'password=%ED%A0%80', 'x%FF=1']) {
      assertInvalidRequest(() => parseFormBody(body), /invalid UTF-8/);
    }
  });

  it('refuses NUL in a value or a name', () => {
    assertInvalidRequest(() => parseFormBody('password=abc%00def'), /password must not contain NUL/);
    assertInvalidRequest(() => parseFormBody('pass%00word=x'), /field names must not contain NUL/);
    assertInvalidRequest(() => parseFormBody('password=abc\u0000'), /NUL/);
  });
});

describe('parseJsonBody', () => {
  it('parses a JSON object', () => {
    assert.deepEqual(parseJsonBody('{"username":"alice","password":"s3cret ✓","email":null,"n":1,"tags":["a"]}'), {
      username: 'alice',
      password: 's3cret ✓',
      email: null,
      n: 1,
      tags: ['a'],
    });
  });

  it('accepts surrounding whitespace', () => {
    assert.deepEqual(parseJsonBody(' \n{"a":1}\n '), { a: 1 });
  });

  it('refuses a __proto__ key, also when nested or escaped', () => {
    for (const body of ['{"__proto__":{"admin":true}}', '{"a":{"__proto__":{"admin":true}}}', '{"\\u005f_proto__":{}}']) {
      assertInvalidRequest(() => parseJsonBody(body), /not valid JSON/);
    }
    assert.equal(({} as Record<string, unknown>).admin, undefined);
  });

  it('refuses constructor.prototype', () => {
    assertInvalidRequest(() => parseJsonBody('{"constructor":{"prototype":{"admin":true}}}'));
  });

  it('refuses invalid JSON', () => {
    for (const body of ['{', '{"a":1,}', "{'a':1}", 'undefined', '{"a":1}{"b":2}', 'NaN']) {
      assertInvalidRequest(() => parseJsonBody(body), /not valid JSON/);
    }
  });

  it('refuses an empty or blank body', () => {
    assertInvalidRequest(() => parseJsonBody(''), /empty/);
    assertInvalidRequest(() => parseJsonBody('  \n'), /empty/);
  });

  it('refuses NUL anywhere, naming where it is', () => {
    assertInvalidRequest(() => parseJsonBody('{"password":"a\\u0000b"}'), /^password must not contain NUL/);
    assertInvalidRequest(() => parseJsonBody('{"user":{"name":"a\\u0000"}}'), /^user\.name must not/);
    assertInvalidRequest(() => parseJsonBody('{"scopes":["me","a\\u0000"]}'), /^scopes\[1\] must not/);
    assertInvalidRequest(() => parseJsonBody('{"a\\u0000":1}'), /field names must not contain NUL/);
    assertInvalidRequest(() => parseJsonBody('"\\u0000"'), /^body must not contain NUL/);
  });
});
