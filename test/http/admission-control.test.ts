/**
 * Admission control for hashing, end to end: a burst of logins larger than
 * the hashing pool can serve within HASH_MAX_WAIT_MS is answered at once with
 * 503 + Retry-After for the excess, while GET /users/me (no hashing) keeps
 * answering 200, and logins work again as soon as the burst is over.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, formPost, login, signUp, startTestServer, type TestServer, UNTHROTTLED } from '../helpers/server.js';

const PASSWORD = 'admission-password-1';
const BURST = 60;

describe('admission control for password hashing', () => {
  let server: TestServer;
  let token: string;
  before(async () => {
    server = await startTestServer({
      HASH_CONCURRENCY: '1',
      HASH_QUEUE_LIMIT: '1000',
      HASH_MAX_WAIT_MS: '100',
      ...UNTHROTTLED,
    });
    assert.equal((await signUp(server, 'stormed', PASSWORD)).status, 201);
    token = await login(server, 'stormed', PASSWORD);
  });
  after(() => server.stop());

  it('answers the excess of a login burst with 503 and Retry-After while /users/me keeps working', async () => {
    const logins = Array.from({ length: BURST }, (_, i) =>
      formPost(server, '/token', {
        username: i % 3 === 2 ? `nobody-${i}` : 'stormed',
        password: i % 3 === 0 ? PASSWORD : 'wrong-password',
      }),
    );
    const meStatuses: number[] = [];
    const meLatencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      const response = await server.fetch('/users/me', { headers: bearer(token) });
      await response.arrayBuffer();
      meLatencies.push(performance.now() - started);
      meStatuses.push(response.status);
    }
    const responses = await Promise.all(logins);
    const statuses = responses.map((r) => r.status);
    const overloaded = responses.filter((r) => r.status === 503);
    assert.ok(overloaded.length > 0, `some logins are refused (${JSON.stringify(statuses)})`);
    assert.ok(
      statuses.some((s) => s === 200 || s === 401),
      'some logins are served',
    );
    assert.deepEqual(
      [...new Set(statuses)].filter((s) => ![200, 401, 503].includes(s)),
      [],
    );
    for (const response of overloaded) {
      assert.ok(Number(response.headers.get('retry-after')) >= 1);
      const body = (await response.json()) as Record<string, unknown>;
      assert.equal(body.error, 'temporarily_unavailable');
    }
    assert.deepEqual([...new Set(meStatuses)], [200], 'GET /users/me is never refused');
    // Below the time the burst needs to hash (BURST hashes, HASH_MAX_WAIT_MS of queueing), so /users/me never waited
    // for it; generous, because CI runs a browser test and another test file beside this one.
    assert.ok(Math.max(...meLatencies) < 2_500, `GET /users/me took up to ${Math.max(...meLatencies).toFixed(0)} ms`);
    const stats = server.hashLimiter.stats();
    assert.ok(stats.rejected >= overloaded.length);
  });

  it('serves logins again once the burst is over', async () => {
    assert.equal(server.hashLimiter.queued, 0);
    const response = await formPost(server, '/token', { username: 'stormed', password: PASSWORD });
    assert.equal(response.status, 200);
  });
});
