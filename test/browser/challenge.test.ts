/**
 * The login challenge solved by a real browser: a throttled POST /token
 * answers 429 with a challenge; Chromium solves it with altcha-lib's own
 * WebCrypto solver (what the ALTCHA widget runs); the same request with
 * `challenge_solution` logs in. At the defaults' work, so the time it took
 * is printed (and measured properly by `npm run bench:challenge`). Skipped
 * where /usr/bin/chromium is missing, except under CI=true, where it fails.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { browserSkipReason, startBrowserSolver, type BrowserSolver } from '../helpers/browser-solver.js';
import { challengeOf } from '../helpers/challenge.js';
import { formPostWith } from '../helpers/lifecycle.js';
import { from, randomClientIp } from '../helpers/rate-limits.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'a browser user passphrase';
const reason = browserSkipReason();
const skip = reason !== undefined && process.env.CI !== 'true' ? `${reason}; under CI=true this test fails instead` : false;

describe('the login challenge in a browser', { skip }, () => {
  let server: TestServer;
  let solver: BrowserSolver;
  before(async () => {
    // The defaults' challenge work; the backoff trips after the default 3 failures.
    server = await startTestServer({ TRUSTED_PROXIES: '127.0.0.1' });
    await server.portcullis.users.create({ username: 'browser-user', password: PASSWORD });
    solver = await startBrowserSolver();
  });
  after(async () => {
    await solver?.close();
    await server?.stop();
  });

  it('solves the challenge of a 429 and logs in with it', async () => {
    const ip = randomClientIp();
    for (let i = 0; i < 3; i += 1) {
      assert.equal((await formPostWith(server, '/token', { username: 'browser-user', password: `guess-${i}` }, from(ip))).status, 401);
    }
    const refused = await formPostWith(server, '/token', { username: 'browser-user', password: PASSWORD }, from(ip));
    assert.equal(refused.status, 429);
    const { solution, ms } = await solver.solve(challengeOf(await refused.json()));
    console.log(`# Chromium solved a level-0 challenge at the default work in ${(ms / 1000).toFixed(2)} s`);
    const accepted = await formPostWith(
      server,
      '/token',
      { username: 'browser-user', password: PASSWORD, challenge_solution: solution },
      from(ip),
    );
    assert.equal(accepted.status, 200);
    assert.equal(typeof ((await accepted.json()) as { access_token?: unknown }).access_token, 'string');
  });
});
