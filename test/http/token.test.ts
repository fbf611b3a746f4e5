/** POST /token as API.md describes it: the password grant, its errors and headers. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, formPost, jsonPost, login, startTestServer, type TestServer } from '../helpers/server.js';

async function errorOf(response: Response): Promise<{ status: number; body: Record<string, unknown>; www: string | null }> {
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    www: response.headers.get('www-authenticate'),
  };
}

describe('POST /token', () => {
  let server: TestServer;
  before(async () => {
    // These tests fail alice's password many times from one address: the login backoff (test/http/login-throttle.test.ts) stays out of the way.
    server = await startTestServer({ LOGIN_BACKOFF_FREE_FAILURES: '1000' });
    await server.portcullis.users.create({ username: 'alice', password: 'alice-password-1', scopes: ['me', 'items'] });
    await server.portcullis.users.create({ username: 'mallory', password: 'mallory-password-1', disabled: true });
  });
  after(() => server.stop());

  it('accepts a JSON body with the same field names', async () => {
    const response = await jsonPost(server, '/token', { username: 'alice', password: 'alice-password-1' });
    assert.equal(response.status, 200);
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(body.token_type, 'bearer');
    assert.equal(body.scope, 'me items');
  });

  it('accepts grant_type=password and an absent grant_type alike', async () => {
    const withGrant = await formPost(server, '/token', { grant_type: 'password', username: 'alice', password: 'alice-password-1' });
    assert.equal(withGrant.status, 200);
  });

  it('grants the intersection of the requested scopes and those the user holds', async () => {
    const response = await formPost(server, '/token', { username: 'alice', password: 'alice-password-1', scope: 'items admin' });
    assert.equal(((await response.json()) as { scope: string }).scope, 'items');
    const token = await login(server, 'alice', 'alice-password-1', 'me');
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { scope: string };
    assert.equal(claims.scope, 'me');
  });

  it('matches usernames case-insensitively and after NFKC normalisation', async () => {
    for (const name of ['Alice', 'ALICE', 'ａｌｉｃｅ']) {
      const response = await formPost(server, '/token', { username: name, password: 'alice-password-1' });
      assert.equal(response.status, 200, name);
    }
  });

  it('returns 401 invalid_grant for a wrong password', async () => {
    const { status, body, www } = await errorOf(await formPost(server, '/token', { username: 'alice', password: 'wrong-password' }));
    assert.equal(status, 401);
    assert.equal(www, 'Bearer');
    assert.deepEqual(body, {
      detail: 'Incorrect username or password',
      error: 'invalid_grant',
      error_description: 'Incorrect username or password',
    });
  });

  it('answers an unknown user exactly as a wrong password: status, body and headers', async () => {
    const known = await formPost(server, '/token', { username: 'alice', password: 'wrong-password' });
    const unknown = await formPost(server, '/token', { username: 'nobody-here', password: 'wrong-password' });
    assert.equal(unknown.status, known.status);
    assert.deepEqual(await unknown.json(), await known.json());
    const headerNames = (r: Response) => [...r.headers.keys()].filter((name) => name !== 'date').sort();
    assert.deepEqual(headerNames(unknown), headerNames(known));
    for (const name of headerNames(known)) {
      if (name === 'content-length' || name === 'www-authenticate' || name === 'cache-control') {
        assert.equal(unknown.headers.get(name), known.headers.get(name), name);
      }
    }
  });

  it('spends comparable time on unknown users and wrong passwords', async () => {
    const time = async (username: string) => {
      const started = process.hrtime.bigint();
      await formPost(server, '/token', { username, password: 'wrong-password' });
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    const knownTimes: number[] = [];
    const unknownTimes: number[] = [];
    // 16 interleaved pairs: the medians of 8 moved with a moment of load on a busy 2-core machine (unknown 25 ms vs known 60 ms once).
    for (let i = 0; i < 16; i += 1) {
      knownTimes.push(await time('alice'));
      unknownTimes.push(await time(`ghost-${i}`));
    }
    const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    // Both do one argon2id verification (~16 ms); without the dummy hash the unknown user would answer in ~1 ms.
    assert.ok(median(unknownTimes) > median(knownTimes) * 0.5, `unknown ${median(unknownTimes)} ms vs known ${median(knownTimes)} ms`);
  });

  it('says "Inactive user" for a disabled user only when the password is right', async () => {
    const right = await errorOf(await formPost(server, '/token', { username: 'mallory', password: 'mallory-password-1' }));
    assert.equal(right.status, 401);
    assert.equal(right.body.detail, 'Inactive user');
    assert.equal(right.body.error, 'invalid_grant');
    assert.equal(right.www, 'Bearer');
    const wrong = await errorOf(await formPost(server, '/token', { username: 'mallory', password: 'wrong-password' }));
    assert.equal(wrong.body.detail, 'Incorrect username or password');
  });

  it('returns 400 invalid_request for a missing username or password', async () => {
    const cases: Array<Record<string, string>> = [{ password: 'x' }, { username: 'alice' }, { username: '', password: 'x' }, {}];
    for (const fields of cases) {
      const { status, body } = await errorOf(await formPost(server, '/token', fields));
      assert.equal(status, 400, JSON.stringify(fields));
      assert.equal(body.error, 'invalid_request');
      assert.match(String(body.detail), /Missing required parameter/);
      assert.equal(body.error_description, body.detail);
    }
  });

  it('returns 400 unsupported_grant_type for other grants', async () => {
    for (const grant of [
      'urn:ietf:params:oauth:grant-type:jwt-bearer',
      'implicit',
      'urn:ietf:params:oauth:grant-type:device_code',
      'x'.repeat(100),
    ]) {
      const { status, body } = await errorOf(await formPost(server, '/token', { grant_type: grant, username: 'alice', password: 'p' }));
      assert.equal(status, 400);
      assert.equal(body.error, 'unsupported_grant_type');
    }
  });

  it('answers the authorization_code grant (docs/http-api.md, "Authorization code flow"): invalid_request without a code, invalid_client without a client', async () => {
    const missing = await errorOf(await formPost(server, '/token', { grant_type: 'authorization_code' }));
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error, 'invalid_request');
    const anonymous = await errorOf(await formPost(server, '/token', { grant_type: 'authorization_code', code: 'abc' }));
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.error, 'invalid_client');
  });

  it('returns 400 for a malformed scope parameter', async () => {
    const { status, body } = await errorOf(
      await formPost(server, '/token', { username: 'alice', password: 'alice-password-1', scope: 'me "items"' }),
    );
    assert.equal(status, 400);
    assert.equal(body.error, 'invalid_request');
  });

  it('marks error responses uncacheable too', async () => {
    const response = await formPost(server, '/token', { username: 'alice', password: 'wrong-password' });
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(response.headers.get('pragma'), 'no-cache');
  });

  it('accepts a narrowed token at GET /users/me, which lists every scope the user holds', async () => {
    const token = await login(server, 'alice', 'alice-password-1', 'items');
    const me = await server.fetch('/users/me', { headers: bearer(token) });
    assert.equal(me.status, 200);
    assert.deepEqual(((await me.json()) as { scopes: string[] }).scopes, ['me', 'items']);
  });
});

describe('POST /token with AUDIENCE and another algorithm', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ AUDIENCE: 'https://api.example.com', ALGORITHM: 'HS512', ACCESS_TOKEN_EXPIRE_MINUTES: '5' });
    await server.portcullis.users.create({ username: 'carol', password: 'carol-password-1' });
  });
  after(() => server.stop());

  it('puts aud in the token, signs with HS512 and uses the configured lifetime', async () => {
    const response = await formPost(server, '/token', { username: 'carol', password: 'carol-password-1' });
    const body = (await response.json()) as { access_token: string; expires_in: number };
    assert.equal(body.expires_in, 300);
    const [header, payload] = body.access_token
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
    assert.equal(header.alg, 'HS512');
    assert.equal(payload.aud, 'https://api.example.com');
    const me = await server.fetch('/users/me', { headers: bearer(body.access_token) });
    assert.equal(me.status, 200);
  });
});
