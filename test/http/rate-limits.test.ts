import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fixedClock } from '../../src/core/clock.js';
import { formPostWith, passwordLogin } from '../helpers/lifecycle.js';
import {
  assertRateLimited,
  from,
  randomClientIp,
  rateHeaders,
  revoke,
  SMALL_IP_LIMITS,
  SMALL_IP_POLICY,
  tripAndRecover,
} from '../helpers/rate-limits.js';
import { bearer, jsonPost, signUp, startTestServer, type TestServer } from '../helpers/server.js';

// The servers go by a clock of the test's: a bucket refills when the test moves the clock on,
// never because the machine was slow between two requests.
describe('rate limits (in-process)', () => {
  describe('per client address', () => {
    const clock = fixedClock(Date.now());
    let server: TestServer;
    before(async () => {
      server = await startTestServer(SMALL_IP_LIMITS, { clock });
    });
    after(() => server.stop());

    it('answers the 4th quick request with 429, Retry-After and RateLimit-*, and recovers after the refill time', async () => {
      await tripAndRecover(server, from(randomClientIp()), { fixed: true, advance: (ms) => clock.advance(ms) });
    });

    it('limits POST /token, /users, /revoke, /introspect and PUT /users/me/password, and nothing else', async () => {
      await signUp(server, 'walker', 'walker-password-1', {});
      const { access_token: token } = await passwordLogin(server, 'walker', 'walker-password-1', { headers: from(randomClientIp()) });
      // [route, send, OAuth error body, a password attempt (its 429 carries a login challenge)]
      const routes: Array<[string, (ip: string) => Promise<Response>, boolean, boolean?]> = [
        ['POST /token', (ip) => formPostWith(server, '/token', { username: 'walker', password: 'wrong-password' }, from(ip)), true, true],
        ['POST /users', (ip) => jsonPost(server, '/users', { username: 'x', password: 'short' }, from(ip)), false],
        ['POST /revoke', (ip) => formPostWith(server, '/revoke', { token: 'x' }, from(ip)), true],
        ['POST /introspect', (ip) => formPostWith(server, '/introspect', { token: 'x' }, from(ip)), true],
        [
          'PUT /users/me/password',
          (ip) =>
            server.fetch('/users/me/password', {
              method: 'PUT',
              headers: { 'content-type': 'application/json', ...bearer(token), ...from(ip) },
              body: JSON.stringify({ current_password: 'wrong-password', new_password: 'new-walker-password-2' }),
            }),
          false,
          true,
        ],
      ];
      for (const [label, send, oauth, challenge] of routes) {
        const ip = randomClientIp();
        for (let i = 0; i < 3; i += 1) {
          const response = await send(ip);
          await response.arrayBuffer();
          assert.notEqual(response.status, 429, `${label} #${i + 1}`);
          assert.equal(response.headers.get('ratelimit-limit'), '3', `${label} reports its bucket even when it fails otherwise`);
        }
        await assertRateLimited(await send(ip), { limit: 3, policy: SMALL_IP_POLICY, oauth, challenge: challenge === true });
      }
      // The bucket is the address's, across routes; other routes are not limited.
      const ip = randomClientIp();
      for (let i = 0; i < 3; i += 1) assert.equal((await revoke(server, from(ip))).status, 200);
      assert.equal((await formPostWith(server, '/introspect', { token: 'x' }, from(ip))).status, 429);
      for (let i = 0; i < 5; i += 1) {
        const me = await server.fetch('/users/me', { headers: { ...bearer(token), ...from(ip) } });
        assert.equal(me.status, 200);
        assert.equal(rateHeaders(me).limit, null);
        await me.arrayBuffer();
      }
    });

    it('records a throttle decision in the audit log once a minute per bucket', async () => {
      const ip = randomClientIp();
      for (let i = 0; i < 10; i += 1) await revoke(server, from(ip));
      const { events } = await server.portcullis.audit.list({ type: 'rate_limit.exceeded', limit: 100 });
      const mine = events.filter((event) => event.ip === ip);
      assert.equal(mine.length, 1);
      assert.deepEqual(
        { outcome: mine[0]?.outcome, subject: mine[0]?.subject, details: mine[0]?.details },
        { outcome: 'failure', subject: null, details: { bucket: 'ip', route: 'revoke' } },
      );
    });
  });

  describe('per account', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(
        {
          RATE_LIMIT_IP_BURST: '100',
          RATE_LIMIT_ACCOUNT_BURST: '3',
          RATE_LIMIT_ACCOUNT_PER_MINUTE: '60',
        },
        { clock: fixedClock(Date.now()) },
      );
      await signUp(server, 'alice', 'alice-password-1');
      await signUp(server, 'bob', 'bob-password-12');
    });
    after(() => server.stop());

    it('trips for one account while another account from the same address still gets in', async () => {
      for (let i = 0; i < 3; i += 1) await passwordLogin(server, i === 1 ? 'ALICE' : 'alice', 'alice-password-1');
      const refused = await formPostWith(server, '/token', { username: 'Alice', password: 'alice-password-1' });
      await assertRateLimited(refused, { limit: 3, policy: '3;w=3', oauth: true, challenge: true });
      const bob = await formPostWith(server, '/token', { username: 'bob', password: 'bob-password-12' });
      assert.equal(bob.status, 200);
      assert.equal(bob.headers.get('ratelimit-limit'), '3', 'the account bucket is the tighter one');
      assert.equal(bob.headers.get('ratelimit-remaining'), '2');

      const { events } = await server.portcullis.audit.list({ type: 'rate_limit.exceeded', limit: 10 });
      assert.equal(events.length, 1);
      assert.equal(events[0]?.subject, 'alice');
      assert.deepEqual(events[0]?.details, { bucket: 'account', route: 'token' });
    });

    it('counts the password change against the signed-in account', async () => {
      await signUp(server, 'carol', 'carol-password-1');
      const { access_token: token } = await passwordLogin(server, 'carol', 'carol-password-1');
      const change = () =>
        server.fetch('/users/me/password', {
          method: 'PUT',
          headers: { 'content-type': 'application/json', ...bearer(token) },
          body: JSON.stringify({ current_password: 'guess', new_password: 'new-carol-password-2' }),
        });
      for (let i = 0; i < 2; i += 1) assert.equal((await change()).status, 400);
      await assertRateLimited(await change(), { limit: 3, policy: '3;w=3', oauth: false, challenge: true });
    });
  });

  describe('trusted proxies', () => {
    it('ignores X-Forwarded-For without TRUSTED_PROXIES: a spoofed address does not get a new bucket', async () => {
      const server = await startTestServer({ RATE_LIMIT_IP_BURST: '3', RATE_LIMIT_IP_PER_MINUTE: '1' });
      try {
        for (let i = 0; i < 3; i += 1) assert.equal((await revoke(server, from(randomClientIp()))).status, 200);
        assert.equal((await revoke(server, from(randomClientIp()))).status, 429);
        const { events } = await server.portcullis.audit.list({ type: 'rate_limit.exceeded', limit: 10 });
        assert.equal(events[0]?.ip, '127.0.0.1');
      } finally {
        await server.stop();
      }
    });

    it('believes X-Forwarded-For from a trusted proxy: each client address has its own bucket', async () => {
      const server = await startTestServer({ RATE_LIMIT_IP_BURST: '3', RATE_LIMIT_IP_PER_MINUTE: '1', TRUSTED_PROXIES: '127.0.0.1' });
      try {
        for (let i = 0; i < 6; i += 1) assert.equal((await revoke(server, from(randomClientIp()))).status, 200);
        const ip = randomClientIp();
        for (let i = 0; i < 3; i += 1) assert.equal((await revoke(server, from(ip))).status, 200);
        assert.equal((await revoke(server, from(ip))).status, 429);
        // The proxy appends the address it saw; what the client wrote before it is not believed.
        assert.equal((await revoke(server, from(`198.51.100.1, ${ip}`))).status, 429);
      } finally {
        await server.stop();
      }
    });
  });

  it('does nothing with RATE_LIMITS=off', async () => {
    const server = await startTestServer({ RATE_LIMITS: 'off', RATE_LIMIT_IP_BURST: '1', RATE_LIMIT_ACCOUNT_BURST: '1' });
    try {
      for (let i = 0; i < 5; i += 1) {
        const response = await revoke(server);
        assert.equal(response.status, 200);
        assert.equal(rateHeaders(response).limit, null);
      }
    } finally {
      await server.stop();
    }
  });
});
