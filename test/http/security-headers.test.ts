/**
 * Every response carries the headers of a JSON API that nothing should
 * render, frame, sniff or cache; CORS is off unless CORS_ORIGINS lists the
 * origin, and then only that origin gets CORS headers. Over real HTTP, since
 * browsers see what the socket says.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawRequest, type RawResponse } from '../helpers/raw-http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const EXPECTED = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};
const ALLOWED = 'https://app.example.com';
const OTHER_ALLOWED = 'http://localhost:5173';
const FOREIGN = 'https://evil.example.net';

function assertSecurityHeaders(response: RawResponse, label: string): void {
  for (const [name, value] of Object.entries(EXPECTED)) assert.equal(response.headers[name], value, `${label}: ${name}`);
}

function corsHeaders(response: RawResponse): string[] {
  return Object.keys(response.headers).filter((name) => name.startsWith('access-control-'));
}

function preflight(server: TestServer, origin: string, path = '/users/me', method = 'GET'): Promise<RawResponse> {
  return rawRequest(server.url, 'OPTIONS', path, {
    origin,
    'access-control-request-method': method,
    'access-control-request-headers': 'authorization, content-type',
  });
}

describe('security headers', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  it('are on successes, client errors and unknown routes alike', async () => {
    const cases: Array<[string, string, Record<string, string>, string | undefined]> = [
      ['GET', '/healthz', {}, undefined],
      ['GET', '/users/me', {}, undefined],
      ['GET', '/users/me', { authorization: 'Bearer not.a.token' }, undefined],
      ['POST', '/token', { 'content-type': 'application/x-www-form-urlencoded' }, 'username=nobody&password=wrong-password'],
      ['POST', '/token', { 'content-type': 'text/plain' }, 'x'],
      ['GET', '/no-such-route', {}, undefined],
    ];
    for (const [method, path, headers, body] of cases) {
      const response = await rawRequest(server.url, method, path, headers, body);
      assertSecurityHeaders(response, `${method} ${path} -> ${response.status}`);
      assert.equal(response.headers['cache-control'], 'no-store', `${method} ${path}`);
      assert.equal(response.headers['strict-transport-security'], undefined, 'no HSTS outside production');
    }
  });

  it('keep the Cache-Control a route sets (JWKS, metadata)', async () => {
    for (const path of ['/.well-known/jwks.json', '/.well-known/oauth-authorization-server']) {
      const response = await rawRequest(server.url, 'GET', path);
      assert.equal(response.status, 200);
      assert.equal(response.headers['cache-control'], `public, max-age=${server.config.jwksMaxAgeSeconds}`);
      assertSecurityHeaders(response, path);
    }
  });

  it('send no CORS headers at all when CORS_ORIGINS is unset', async () => {
    const pre = await preflight(server, ALLOWED);
    assert.equal(pre.status, 404);
    assert.deepEqual(corsHeaders(pre), []);
    const get = await rawRequest(server.url, 'GET', '/healthz', { origin: ALLOWED });
    assert.equal(get.status, 200);
    assert.deepEqual(corsHeaders(get), []);
  });
});

describe('security headers in production', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ NODE_ENV: 'production' });
  });
  after(() => server.stop());

  it('add Strict-Transport-Security', async () => {
    const response = await rawRequest(server.url, 'GET', '/healthz');
    assert.equal(response.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
    assertSecurityHeaders(response, 'production');
  });
});

describe('CORS with CORS_ORIGINS', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ CORS_ORIGINS: `${ALLOWED}, ${OTHER_ALLOWED}` });
  });
  after(() => server.stop());

  it('answers a preflight from a listed origin with the allow headers', async () => {
    for (const origin of [ALLOWED, OTHER_ALLOWED]) {
      const response = await preflight(server, origin, '/token', 'POST');
      assert.equal(response.status, 204);
      assert.equal(response.headers['access-control-allow-origin'], origin);
      assert.equal(response.headers['access-control-allow-methods'], 'GET, POST, PUT, PATCH, DELETE');
      assert.equal(response.headers['access-control-allow-headers'], 'Authorization, Content-Type');
      assert.equal(response.headers['access-control-max-age'], '600');
      assert.equal(response.headers['access-control-allow-credentials'], undefined);
      assert.match(String(response.headers.vary), /origin/i);
      assertSecurityHeaders(response, 'preflight');
    }
  });

  it('lets a listed origin read answers, and the headers it needs', async () => {
    const response = await rawRequest(server.url, 'GET', '/users/me', { origin: ALLOWED });
    assert.equal(response.status, 401);
    assert.equal(response.headers['access-control-allow-origin'], ALLOWED);
    assert.match(String(response.headers['access-control-expose-headers']), /Retry-After/);
    assert.match(String(response.headers['access-control-expose-headers']), /WWW-Authenticate/);
  });

  it('gives any other origin no CORS header, preflight or not', async () => {
    for (const origin of [FOREIGN, `${ALLOWED}.evil.example.net`, 'https://APP.example.com', `${ALLOWED}:443`, 'null']) {
      const pre = await preflight(server, origin);
      assert.equal(pre.status, 404, origin);
      assert.deepEqual(corsHeaders(pre), [], origin);
      const get = await rawRequest(server.url, 'GET', '/healthz', { origin });
      assert.deepEqual(corsHeaders(get), [], origin);
    }
    const noOrigin = await rawRequest(server.url, 'GET', '/healthz');
    assert.deepEqual(corsHeaders(noOrigin), []);
  });
});
