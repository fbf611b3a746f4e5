/**
 * The GET /users/me fast path (src/http/users-me-fast-path.ts) over real HTTP against the real
 * server and SQLite: it answers byte for byte what the Fastify route answers, only when it may,
 * and everything else still reaches Fastify (a query string makes the same request take the
 * Fastify route, which is how the two are compared).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../../src/server/config.js';
import { startServer } from '../../src/server/start-server.js';
import { formPostWith } from '../helpers/lifecycle.js';
import { bearer, login, makeTempDir, signUp, startTestServer, TEST_SECRET_KEY, type TestServer } from '../helpers/server.js';

const PASSWORD = 'fast-path-password-0123';

/** Status, headers without Date, and body bytes. */
async function answerOf(response: Response): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const headers = Object.fromEntries([...response.headers].filter(([name]) => name !== 'date'));
  return { status: response.status, headers, body: await response.text() };
}

describe('GET /users/me fast path', () => {
  let server: TestServer;
  let token: string;
  const answered = () => server.app.usersMeFastPath.answered;

  before(async () => {
    server = await startTestServer({ METRICS: 'on', CORS_ORIGINS: 'https://app.example' });
    assert.equal(
      (await signUp(server, 'fast-path-user', PASSWORD, { email: 'fast@example.com', full_name: 'Fást "Path" <user>' })).status,
      201,
    );
    token = await login(server, 'fast-path-user', PASSWORD);
  });
  after(() => server?.stop());

  const me = (headers: Record<string, string>, query = '') => fetch(`${server.url}/users/me${query}`, { headers });

  it('answers a warm request itself, with the status, headers and bytes of the Fastify route', async () => {
    const first = await me(bearer(token)); // loads the session and user into the auth cache
    assert.equal(first.status, 200);
    await first.arrayBuffer();
    const before = answered();
    const fast = await answerOf(await me(bearer(token)));
    assert.equal(answered(), before + 1, 'the fast path answered');
    const routed = await answerOf(await me(bearer(token), '?via=fastify'));
    assert.equal(answered(), before + 1, 'a query string goes to Fastify');
    assert.deepEqual(fast, routed);
    assert.equal(fast.status, 200);
    assert.deepEqual(JSON.parse(fast.body), {
      ...JSON.parse(fast.body),
      username: 'fast-path-user',
      email: 'fast@example.com',
      full_name: 'Fást "Path" <user>',
    });
    assert.equal(fast.headers['cache-control'], 'no-store');
    assert.equal(fast.headers['x-content-type-options'], 'nosniff');
  });

  it('takes the scheme case-insensitively', async () => {
    const before = answered();
    const response = await me({ authorization: `bEaReR ${token}` });
    assert.equal(response.status, 200);
    await response.arrayBuffer();
    assert.equal(answered(), before + 1);
  });

  it('leaves to Fastify what it does not answer: no token, a bad token, HEAD, a CORS request', async () => {
    const before = answered();
    const none = await me({});
    assert.equal(none.status, 401);
    assert.deepEqual(await none.json(), { detail: 'Not authenticated' });
    const bad = await me(bearer(`${token.slice(0, -4)}AAAA`));
    assert.equal(bad.status, 401);
    assert.deepEqual(await bad.json(), { detail: 'Could not validate credentials' });
    const head = await fetch(`${server.url}/users/me`, { method: 'HEAD', headers: bearer(token) });
    assert.equal(head.status, 200);
    const cors = await me({ ...bearer(token), origin: 'https://app.example' });
    assert.equal(cors.status, 200);
    assert.equal(cors.headers.get('access-control-allow-origin'), 'https://app.example');
    await cors.arrayBuffer();
    assert.equal(answered(), before);
  });

  it('leaves to Fastify a request with two Authorization headers, or with a body', async () => {
    const send = (rawHeaders: string[], body?: string) =>
      new Promise<number>((resolve, reject) => {
        // Given as a list, the headers are sent as they are: Host too.
        const request = httpRequest(
          `${server.url}/users/me`,
          { method: 'GET', headers: ['Host', new URL(server.url).host, ...rawHeaders] },
          (response) => {
            response.resume();
            response.on('end', () => resolve(response.statusCode ?? 0));
          },
        );
        request.on('error', reject);
        request.end(body);
      });
    const warm = await me(bearer(token));
    assert.equal(warm.status, 200);
    await warm.arrayBuffer();
    const before = answered();
    assert.equal(await send(['Authorization', `Bearer ${token}`]), 200);
    assert.equal(answered(), before + 1, 'the fast path answers the same request with one header, read from rawHeaders');
    await send(['Authorization', `Bearer ${token}`, 'authorization', `Bearer ${token}`]);
    await send(['Authorization', `Bearer ${token}`, 'Content-Length', '2'], '{}');
    await send(['Authorization', `Bearer ${token}`, 'Transfer-Encoding', 'chunked'], '{}');
    await send(['Authorization', `Bearer ${token}`, 'ORIGIN', 'https://app.example']);
    assert.equal(answered(), before + 1);
  });

  it('refuses the token on the next request after logout (the cache is invalidated, Fastify answers 401)', async () => {
    const other = await login(server, 'fast-path-user', PASSWORD);
    for (let i = 0; i < 2; i += 1) assert.equal((await me(bearer(other))).status, 200);
    const logout = await formPostWith(server, '/logout', {}, bearer(other));
    assert.equal(logout.status, 204);
    const before = answered();
    const refused = await me(bearer(other));
    assert.equal(refused.status, 401);
    assert.deepEqual(await refused.json(), { detail: 'Could not validate credentials' });
    assert.equal(answered(), before);
  });

  it('counts its answers in the request metrics', async () => {
    const count = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const line = text
        .split('\n')
        .find((l) => l.startsWith('portcullis_http_requests_total{') && l.includes('route="/users/me"') && l.includes('status="200"'));
      return Number(line?.split(' ').at(-1) ?? 0);
    };
    const start = await count();
    const before = answered();
    for (let i = 0; i < 3; i += 1) await (await me(bearer(token))).arrayBuffer();
    assert.equal(answered(), before + 3);
    assert.equal(await count(), start + 3);
  });
});

describe('GET /users/me fast path: answers only with what the route answered', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ CORS_ORIGINS: 'https://app.example' });
  });
  after(() => server?.stop());

  it('takes nothing until the route has answered a request it could have taken, then answers with those headers and bytes', async () => {
    assert.equal((await signUp(server, 'fast-path-learner', PASSWORD)).status, 201);
    const token = await login(server, 'fast-path-learner', PASSWORD);
    const answered = () => server.app.usersMeFastPath.answered;
    // The auth cache holds the session and user after these, but each went to the route as one the fast
    // path could not have taken (a query string, a CORS request): nothing is learned from them.
    for (const [query, headers] of [
      ['?warm=1', bearer(token)],
      ['', { ...bearer(token), origin: 'https://app.example' }],
    ] as const) {
      const warm = await fetch(`${server.url}/users/me${query}`, { headers });
      assert.equal(warm.status, 200);
      await warm.arrayBuffer();
    }
    const first = await answerOf(await fetch(`${server.url}/users/me`, { headers: bearer(token) }));
    assert.equal(answered(), 0, 'the route answered the first request the fast path could take');
    const fast = await answerOf(await fetch(`${server.url}/users/me`, { headers: bearer(token) }));
    assert.equal(answered(), 1, 'and the fast path the next');
    assert.deepEqual(fast, first);
    assert.equal(fast.headers['vary'], 'Origin');
    assert.equal(fast.headers['access-control-allow-origin'], undefined, 'nothing of the CORS answer');
  });
});

describe('GET /users/me fast path in production settings (HSTS), without CORS', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ NODE_ENV: 'production', REGISTRATION: 'open', ISSUER: 'https://auth.example' });
  });
  after(() => server?.stop());

  it('answers with the same headers and bytes as the Fastify route', async () => {
    assert.equal((await signUp(server, 'fast-path-prod', PASSWORD)).status, 201);
    const token = await login(server, 'fast-path-prod', PASSWORD);
    const get = (query = '') => fetch(`${server.url}/users/me${query}`, { headers: bearer(token) });
    await (await get()).arrayBuffer();
    const before = server.app.usersMeFastPath.answered;
    const fast = await answerOf(await get());
    const routed = await answerOf(await get('?via=fastify'));
    assert.equal(server.app.usersMeFastPath.answered, before + 1);
    assert.deepEqual(fast, routed);
    assert.equal(fast.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
    assert.equal(fast.headers.vary, undefined);
  });
});

/** A server whose log lines are collected, at `level`; `run` gets it, then it is closed (the summary is written at close). */
async function withLoggedServer(
  level: 'info' | 'debug',
  run: (server: TestServer) => Promise<void>,
): Promise<Array<Record<string, unknown>>> {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const config = loadConfig({ SECRET_KEY: TEST_SECRET_KEY, HOST: '127.0.0.1', PORT: '0', DATA_DIR: makeTempDir(), LOG_LEVEL: level });
  const running = await startServer(config, pino({ level }, sink));
  try {
    await run({ ...running, fetch: (path: string, init?: RequestInit) => fetch(`${running.url}${path}`, init) } as unknown as TestServer);
  } finally {
    await running.close();
  }
  return lines;
}

describe('GET /users/me fast path and the request log', () => {
  it('at LOG_LEVEL=debug writes the line the Fastify route writes, without the token', async () => {
    let token = '';
    let answered = 0;
    const lines = await withLoggedServer('debug', async (server) => {
      assert.equal((await signUp(server, 'fast-path-log', PASSWORD)).status, 201);
      token = await login(server, 'fast-path-log', PASSWORD);
      for (let i = 0; i < 2; i += 1) await (await server.fetch('/users/me', { headers: bearer(token) })).arrayBuffer();
      answered = server.app.usersMeFastPath.answered;
    });
    assert.ok(answered >= 1);
    const logged = lines.filter((line) => line.msg === 'request' && line.route === '/users/me');
    assert.equal(logged.length, 2, JSON.stringify(lines));
    for (const line of logged) {
      assert.equal(line.method, 'GET');
      assert.equal(line.status, 200);
      assert.equal(typeof line.latencyMs, 'number');
      assert.equal(typeof line.reqId, 'string');
    }
    assert.ok(!JSON.stringify(lines).includes(token), 'no token in the log');
  });

  it('at LOG_LEVEL=info writes a line for each failure, and counts the successes (fast path and route) in a summary', async () => {
    let answered = 0;
    const lines = await withLoggedServer('info', async (server) => {
      assert.equal((await signUp(server, 'fast-path-sum', PASSWORD)).status, 201);
      const token = await login(server, 'fast-path-sum', PASSWORD);
      for (let i = 0; i < 3; i += 1) await (await server.fetch('/users/me', { headers: bearer(token) })).arrayBuffer();
      answered = server.app.usersMeFastPath.answered;
      assert.equal((await server.fetch('/users/me')).status, 401);
    });
    assert.ok(answered >= 1, 'the fast path answered some');
    const requestLines = lines.filter((line) => line.msg === 'request');
    assert.deepEqual(
      requestLines.map((line) => [line.route, line.status]),
      [['/users/me', 401]],
      'only the failure has a line of its own',
    );
    assert.equal(typeof requestLines[0]?.reqId, 'string');
    const summaries = lines.filter((line) => line.msg === 'requests');
    assert.equal(summaries.length, 1, JSON.stringify(lines));
    // The sign-up (201), the login and the three GET /users/me (200).
    assert.deepEqual([summaries[0]?.count, summaries[0]?.status], [5, { '2xx': 5 }]);
    const latency = summaries[0]?.latencyMs as { mean: number; max: number };
    assert.ok(latency.max >= latency.mean && latency.mean > 0, JSON.stringify(latency));
  });
});
