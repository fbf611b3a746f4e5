/**
 * Bad input is always a 4xx with a clear `detail`: never a 5xx, never a
 * stack trace. Raw bytes go over a real socket so that what the server
 * parses is exactly what was sent.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function raw(
  server: TestServer,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer | string,
): Promise<RawResponse> {
  const url = new URL(path, server.url);
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

function assertClientError(response: RawResponse, status: number, detail?: RegExp): void {
  assert.equal(response.status, status, response.body);
  const parsed = JSON.parse(response.body) as { detail: unknown };
  assert.equal(typeof parsed.detail, 'string');
  if (detail) assert.match(parsed.detail as string, detail);
  assert.doesNotMatch(response.body, /at .*\.(ts|js):\d+|stack|node_modules/i);
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const JSON_TYPE = { 'content-type': 'application/json' };

describe('bad input', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  it('returns 415 for an unsupported content type or charset', async () => {
    for (const type of ['text/plain', 'multipart/form-data; boundary=x', 'application/xml', 'application/json; charset=latin1']) {
      const response = await raw(server, 'POST', '/token', { 'content-type': type }, 'username=a&password=b');
      assertClientError(response, 415);
    }
    const users = await raw(server, 'POST', '/users', { 'content-type': 'text/plain' }, 'hello');
    assertClientError(users, 415, /Content-Type/);
  });

  it('returns 413 for bodies over the route limit', async () => {
    const big = `username=alice&password=${'a'.repeat(9 * 1024)}`;
    const token = await raw(server, 'POST', '/token', FORM, big);
    assertClientError(token, 413, /too large/);
    const json = await raw(server, 'POST', '/users', JSON_TYPE, JSON.stringify({ username: 'x', password: 'p'.repeat(20_000) }));
    assertClientError(json, 413);
    const huge = await raw(server, 'POST', '/token', FORM, Buffer.alloc(200 * 1024, 0x61));
    assertClientError(huge, 413);
  });

  it('accepts the largest password the policy allows at /token', async () => {
    const response = await raw(server, 'POST', '/token', FORM, `username=alice&password=${'%C3%A9'.repeat(1024)}`);
    assertClientError(response, 401);
  });

  it('returns 400 for malformed JSON and for JSON that is not an object', async () => {
    for (const body of ['{"username": "a",', '{bad json}', '', '   ', 'null', '[]', '"string"', '42']) {
      const response = await raw(server, 'POST', '/token', JSON_TYPE, body);
      assertClientError(response, 400);
      assert.equal(JSON.parse(response.body).error, 'invalid_request', body);
    }
  });

  it('returns 400 for prototype-pollution keys', async () => {
    const response = await raw(
      server,
      'POST',
      '/users',
      JSON_TYPE,
      '{"username":"proto","password":"valid-password-1","__proto__":{"admin":true}}',
    );
    assertClientError(response, 400);
  });

  it('returns 400 for wrong field types', async () => {
    for (const body of [
      { username: 123, password: 'x' },
      { username: ['alice'], password: 'x' },
      { username: 'alice', password: { $gt: '' } },
      { username: 'alice', password: true },
      { username: null, password: 'x' },
    ]) {
      const response = await raw(server, 'POST', '/token', JSON_TYPE, JSON.stringify(body));
      assertClientError(response, 400);
    }
    const signUp = await raw(server, 'POST', '/users', JSON_TYPE, JSON.stringify({ username: 'typed', password: 12345678 }));
    assertClientError(signUp, 400, /password/);
  });

  it('returns 400 for NUL bytes in any field', async () => {
    assertClientError(await raw(server, 'POST', '/token', FORM, 'username=ali%00ce&password=x'), 400, /NUL/);
    assertClientError(await raw(server, 'POST', '/token', JSON_TYPE, '{"username":"alice","password":"a\\u0000b"}'), 400, /NUL/);
    assertClientError(
      await raw(server, 'POST', '/users', JSON_TYPE, '{"username":"nul\\u0000user","password":"valid-password-1"}'),
      400,
      /NUL/,
    );
  });

  it('returns 400 for invalid UTF-8, raw or percent-encoded', async () => {
    const rawBytes = Buffer.concat([Buffer.from('{"username":"'), Buffer.from([0xc3, 0x28]), Buffer.from('","password":"x"}')]);
    assertClientError(await raw(server, 'POST', '/token', JSON_TYPE, rawBytes), 400, /UTF-8/);
    assertClientError(await raw(server, 'POST', '/token', FORM, 'username=%FF%FE&password=x'), 400, /UTF-8|percent/);
    assertClientError(await raw(server, 'POST', '/token', FORM, 'username=%E0%A4%A&password=x'), 400);
    assertClientError(await raw(server, 'POST', '/token', FORM, Buffer.from([0x75, 0x3d, 0xff])), 400);
  });

  it('returns 400 for a repeated form parameter', async () => {
    assertClientError(await raw(server, 'POST', '/token', FORM, 'username=alice&username=bob&password=x'), 400, /more than once/);
  });

  it('returns 400 for absurdly long fields', async () => {
    assertClientError(await raw(server, 'POST', '/token', FORM, `username=${'u'.repeat(3000)}&password=x`), 400, /username/);
    assertClientError(
      await raw(
        server,
        'POST',
        '/users',
        JSON_TYPE,
        JSON.stringify({ username: 'longname', password: 'valid-password', full_name: 'n'.repeat(5000) }),
      ),
      400,
      /full_name/,
    );
  });

  it('returns 404 with a detail for unknown routes and methods', async () => {
    assertClientError(await raw(server, 'GET', '/nope', {}), 404, /Not Found/);
    assertClientError(await raw(server, 'DELETE', '/token', {}), 404);
  });

  it('never answers a 5xx to random bodies (property test)', async () => {
    const contentTypes = fc.constantFrom(
      'application/json',
      'application/x-www-form-urlencoded',
      'text/plain',
      'application/json; charset=utf-8',
    );
    const bodies = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
      fc.json({ maxDepth: 3 }),
      fc
        .dictionary(
          fc.constantFrom('username', 'password', 'grant_type', 'scope', 'email', 'full_name', 'x'),
          fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
        )
        .map((o) => JSON.stringify(o)),
      fc
        .dictionary(fc.constantFrom('username', 'password', 'grant_type', 'scope'), fc.string({ unit: 'binary', maxLength: 50 }))
        .map((o) => new URLSearchParams(o).toString()),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/token', '/users'), contentTypes, bodies, async (path, type, body) => {
        const response = await raw(server, 'POST', path, { 'content-type': type }, body);
        assert.ok(response.status >= 200 && response.status < 500, `${response.status} ${response.body}`);
        assert.equal(typeof JSON.parse(response.body), 'object');
      }),
      { numRuns: 150 },
    );
  });
});
