/**
 * The FastAPI guide's client flow, exactly as its client does it: a
 * form-encoded POST /token, then GET /users/me with the bearer token. And the
 * guide's own decode call accepts a Portcullis token.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { bearer, formPost, signUp, startTestServer, TEST_SECRET_KEY, type TestServer } from '../helpers/server.js';

describe('the guide client flow', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    const created = await signUp(server, 'johndoe', 'secret-password-1', {
      email: 'johndoe@example.com',
      full_name: 'John Doe',
    });
    assert.equal(created.status, 201);
  });
  after(() => server.stop());

  it('returns a bearer token for a form-encoded username and password', async () => {
    const response = await formPost(server, '/token', { username: 'johndoe', password: 'secret-password-1' });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json; charset=utf-8/);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(response.headers.get('pragma'), 'no-cache');
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(body.token_type, 'bearer');
    assert.equal(body.expires_in, 1800);
    assert.equal(typeof body.access_token, 'string');
    assert.match(String(body.refresh_token), /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    const [header, payload] = (body.access_token as string)
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
    assert.equal(header.alg, 'HS256');
    assert.equal(header.typ, 'at+jwt');
    assert.match(header.kid, /^hs-/);
    assert.equal(payload.sub, 'johndoe');
    assert.equal(payload.iss, 'http://portcullis.test');
    assert.equal(payload.aud, undefined);
    assert.equal(payload.exp - payload.iat, 1800);
    assert.equal(payload.nbf, payload.iat);
    assert.match(payload.jti, /^[0-9a-f-]{36}$/);
    assert.equal(typeof payload.scope, 'string');
    assert.equal(typeof payload.sid, 'string');
    assert.equal(payload.ver, 0);
  });

  it('answers GET /users/me with the user and never the hash', async () => {
    const token = (
      (await (await formPost(server, '/token', { username: 'johndoe', password: 'secret-password-1' })).json()) as {
        access_token: string;
      }
    ).access_token;
    const response = await server.fetch('/users/me', { headers: bearer(token) });
    assert.equal(response.status, 200);
    const text = await response.text();
    const user = JSON.parse(text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(user).sort(), [
      'created_at',
      'disabled',
      'email',
      'email_verified',
      'full_name',
      'mfa_required',
      'scopes',
      'username',
    ]);
    assert.equal(user.username, 'johndoe');
    assert.equal(user.email, 'johndoe@example.com');
    assert.equal(user.full_name, 'John Doe');
    assert.equal(user.disabled, false);
    assert.doesNotMatch(text, /argon2|hashed_password|password/);
  });

  it('gives the guide 401s: detail strings and WWW-Authenticate headers', async () => {
    const wrong = await formPost(server, '/token', { username: 'johndoe', password: 'not-the-password' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('www-authenticate'), 'Bearer');
    assert.equal(((await wrong.json()) as { detail: string }).detail, 'Incorrect username or password');

    const none = await server.fetch('/users/me');
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    assert.deepEqual(await none.json(), { detail: 'Not authenticated' });

    const bad = await server.fetch('/users/me', { headers: bearer('not.a.token') });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
    assert.deepEqual(await bad.json(), { detail: 'Could not validate credentials' });
  });

  it("issues tokens that the guide's jwt.decode(token, SECRET_KEY, algorithms=['HS256']) accepts", async (t) => {
    const python = spawnSync('python3', ['-c', 'import joserfc'], { encoding: 'utf8' });
    if (python.status !== 0) {
      if (process.env.CI === 'true') assert.fail('python3 with joserfc is required under CI=true');
      t.skip('python3 with joserfc is not installed here');
      return;
    }
    const token = (
      (await (await formPost(server, '/token', { username: 'johndoe', password: 'secret-password-1' })).json()) as {
        access_token: string;
      }
    ).access_token;
    // joserfc stands in for python-jose (not installable here); both verify HS256 with the key's UTF-8 bytes.
    const script = [
      'import sys, json',
      'from joserfc import jwt',
      'from joserfc.jwk import OctKey',
      'token, secret = sys.argv[1], sys.argv[2]',
      'decoded = jwt.decode(token, OctKey.import_key(secret), algorithms=["HS256"])',
      'jwt.JWTClaimsRegistry().validate(decoded.claims)',
      'print(json.dumps(decoded.claims))',
    ].join('\n');
    const decoded = spawnSync('python3', ['-c', script, token, TEST_SECRET_KEY], { encoding: 'utf8' });
    assert.equal(decoded.status, 0, decoded.stderr);
    assert.equal((JSON.parse(decoded.stdout) as { sub: string }).sub, 'johndoe');

    const wrongKey = spawnSync('python3', ['-c', script, token, `${TEST_SECRET_KEY}-other`], { encoding: 'utf8' });
    assert.notEqual(wrongKey.status, 0);
  });
});
