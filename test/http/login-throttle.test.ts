/**
 * The login backoff and spraying defences over real HTTP: per (account,
 * address) backoff that an attacker elsewhere cannot turn into a lockout,
 * the device cookie that keeps the owner in, spraying per address, and the
 * audit trail. Addresses are simulated with X-Forwarded-For from a trusted
 * proxy (the test client, 127.0.0.1). Run with the in-process store and with
 * Redis (skipped, saying why, when Redis is not reachable; required under CI=true).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { fixedClock } from '../../src/core/clock.js';
import type { Env } from '../../src/server/config.js';
import { FallbackLoginAttemptStore } from '../../src/storage/redis/fallback-login-attempt-store.js';
import { redisSkipReason, TEST_REDIS_URL } from '../helpers/redis.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const SPRAY_LIMIT = 3;
const UNLIMITED = '1000000';
const BASE_ENV: Env = {
  LOGIN_BACKOFF_FREE_FAILURES: '2',
  LOGIN_BACKOFF_BASE_SECONDS: '1',
  LOGIN_BACKOFF_MAX_SECONDS: '60',
  SPRAY_ACCOUNTS_PER_HOUR: String(SPRAY_LIMIT),
  TRUSTED_PROXIES: '127.0.0.1',
  RATE_LIMIT_IP_PER_MINUTE: UNLIMITED,
  RATE_LIMIT_IP_BURST: UNLIMITED,
  RATE_LIMIT_ACCOUNT_PER_MINUTE: UNLIMITED,
  RATE_LIMIT_ACCOUNT_BURST: UNLIMITED,
};
const PASSWORD = 'correct-horse-battery-1';
const WRONG = 'wrong-guess-password-9';

interface Attempt {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly setCookie: string | null;
  readonly body: Record<string, unknown>;
  readonly headers: Headers;
}

function throttleSuite(name: string, env: () => Promise<Env | string>, shared = false): void {
  describe(`login backoff and spraying (${name})`, () => {
    let server: TestServer | undefined;
    let skip: string | undefined;
    // The server's time: a backoff ends when the test moves the clock on, not after a wait that a
    // loaded machine could stretch past the end of the next backoff.
    const clock = fixedClock(Date.now());
    before(async () => {
      const extra = await env();
      if (typeof extra === 'string') {
        skip = extra;
        return;
      }
      // A fresh SECRET_KEY per server: the store's keys are HMACs under it, so runs sharing a Redis never meet.
      server = await startTestServer({ ...BASE_ENV, SECRET_KEY: randomBytes(32).toString('hex'), ...extra }, { clock });
      for (const user of ['alice', 'bob', 'carol', 'dave', 'erin', 'owner']) {
        await server.portcullis.users.create({ username: user, password: PASSWORD });
      }
    });
    after(() => server?.stop());

    const live = (t: { skip(message?: string): void }): TestServer | undefined => {
      if (skip !== undefined) t.skip(skip);
      return server;
    };

    async function attempt(username: string, password: string, ip: string, cookie?: string): Promise<Attempt> {
      const response = await server!.fetch('/token', {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-forwarded-for': ip,
          ...(cookie === undefined ? {} : { cookie }),
        },
        body: new URLSearchParams({ username, password }).toString(),
      });
      return {
        status: response.status,
        retryAfter: response.headers.get('retry-after'),
        setCookie: response.headers.get('set-cookie'),
        body: (await response.json()) as Record<string, unknown>,
        headers: response.headers,
      };
    }

    /** `name=value` of a Set-Cookie header, as a browser would send it back. */
    const cookieOf = (setCookie: string | null): string => {
      assert.ok(setCookie, 'a device cookie was set');
      return setCookie.split(';')[0]!;
    };

    it('refuses the third attempt from A with 429 and Retry-After, even with the right password, without hashing', async (t) => {
      if (!live(t)) return;
      assert.equal((await attempt('alice', WRONG, '198.51.100.1')).status, 401);
      assert.equal((await attempt('alice', WRONG, '198.51.100.1')).status, 401);
      const hashed = server!.hashLimiter.stats().completed;
      const refused = await attempt('alice', PASSWORD, '198.51.100.1');
      assert.equal(refused.status, 429);
      assert.equal(refused.retryAfter, '1');
      assert.equal(refused.setCookie, null);
      const { challenge, ...rest } = refused.body;
      assert.deepEqual(rest, {
        detail: 'Too many failed login attempts; try again later, or solve the challenge',
        error: 'temporarily_unavailable',
        error_description: 'Too many failed login attempts; try again later, or solve the challenge',
      });
      assert.ok(challenge, 'the refusal carries a challenge');
      assert.equal(refused.headers.get('cache-control'), 'no-store');
      assert.equal(server!.hashLimiter.stats().completed, hashed, 'a refused attempt verifies no password');
    });

    it('lets the owner in from another address while A is backed off', async (t) => {
      if (!live(t)) return;
      await attempt('bob', WRONG, '198.51.100.2');
      await attempt('bob', WRONG, '198.51.100.2');
      assert.equal((await attempt('bob', PASSWORD, '198.51.100.2')).status, 429);
      const owner = await attempt('bob', PASSWORD, '203.0.113.7');
      assert.equal(owner.status, 200);
      assert.equal(typeof owner.body.access_token, 'string');
    });

    it('lets the owner in from the attacked address with the device cookie of an earlier login', async (t) => {
      if (!live(t)) return;
      const earlier = await attempt('carol', PASSWORD, '203.0.113.8');
      assert.equal(earlier.status, 200);
      const cookie = cookieOf(earlier.setCookie);
      const attacker = '198.51.100.3';
      await attempt('carol', WRONG, attacker);
      await attempt('carol', WRONG, attacker);
      for (let i = 0; i < 3; i += 1) assert.equal((await attempt('carol', WRONG, attacker)).status, 429);
      const owner = await attempt('carol', PASSWORD, attacker, cookie);
      assert.equal(owner.status, 200);
      assert.equal(cookieOf(owner.setCookie).split('.')[0], cookie.split('.')[0], 'the same device, re-issued');
      // Without the cookie, the address is still backed off: the owner's success did not clear the attacker's pair.
      assert.equal((await attempt('carol', WRONG, attacker)).status, 429);
      // The device cookie of carol's account does nothing for another account.
      await attempt('dave', WRONG, attacker);
      await attempt('dave', WRONG, attacker);
      assert.equal((await attempt('dave', PASSWORD, attacker, cookie)).status, 429);
    });

    it('lets A try again once the backoff has passed, and doubles it after each further failure', async (t) => {
      if (!live(t)) return;
      const a = '198.51.100.4';
      await attempt('erin', WRONG, a);
      await attempt('erin', WRONG, a);
      assert.equal((await attempt('erin', WRONG, a)).retryAfter, '1');
      clock.advance(1000);
      assert.equal((await attempt('erin', WRONG, a)).status, 401);
      assert.equal((await attempt('erin', WRONG, a)).retryAfter, '2');
      clock.advance(1999);
      assert.equal((await attempt('erin', PASSWORD, a)).status, 429, 'still inside the doubled backoff');
      clock.advance(1);
      assert.equal((await attempt('erin', PASSWORD, a)).status, 200);
      // The success cleared the pair: failures start from zero again.
      assert.equal((await attempt('erin', WRONG, a)).status, 401);
      assert.equal((await attempt('erin', WRONG, a)).status, 401);
      assert.equal((await attempt('erin', WRONG, a)).status, 429);
    });

    it('answers an unknown username with the same backoff, status, body and headers', async (t) => {
      if (!live(t)) return;
      const a = '198.51.100.5';
      for (const name of ['alice', 'nobody-at-all']) {
        await attempt(name, WRONG, a);
        await attempt(name, WRONG, a);
      }
      const known = await attempt('alice', WRONG, a);
      const unknown = await attempt('nobody-at-all', WRONG, a);
      assert.equal(unknown.status, 429);
      // The challenges are random, and bound to opaque account keys that a known and an unknown name both have.
      const random = new Set(['account', 'expires', 'keyPrefix', 'keySignature', 'nonce', 'salt', 'signature']);
      const shape = (body: Record<string, unknown>) =>
        JSON.stringify(body, (key, value: unknown) => (random.has(key) ? typeof value : value));
      assert.deepEqual([unknown.status, unknown.retryAfter, shape(unknown.body)], [known.status, known.retryAfter, shape(known.body)]);
      const names = (headers: Headers) => [...headers.keys()].filter((h) => h !== 'date').sort();
      assert.deepEqual(names(unknown.headers), names(known.headers));
    });

    it('throttles an address that failed on more accounts than SPRAY_ACCOUNTS_PER_HOUR, for every account', async (t) => {
      if (!live(t)) return;
      const sprayer = '198.51.100.66';
      const owner = await attempt('owner', PASSWORD, '203.0.113.9');
      const ownerCookie = cookieOf(owner.setCookie);
      for (let i = 0; i <= SPRAY_LIMIT; i += 1) {
        assert.equal((await attempt(`spray-target-${i}`, 'Summer2024!', sprayer)).status, 401, `account ${i}`);
      }
      const refused = await attempt('alice', PASSWORD, sprayer);
      assert.equal(refused.status, 429);
      const retry = Number(refused.retryAfter);
      assert.ok(retry > 3500 && retry <= 3600, `Retry-After ${refused.retryAfter} is about the hour`);
      assert.equal((await attempt('alice', PASSWORD, '203.0.113.10')).status, 200, 'other addresses are not affected');
      assert.equal((await attempt('owner', PASSWORD, sprayer, ownerCookie)).status, 200, 'a known device behind the address is');
    });

    it('records throttle decisions in the audit log, once a minute per key, with no password', async (t) => {
      if (!live(t)) return;
      const { events } = await server!.portcullis.audit.list({ type: 'login.throttled', limit: 100 });
      const backoff = events.filter((e) => e.details?.reason === 'backoff');
      const spraying = events.filter((e) => e.details?.reason === 'spraying');
      assert.ok(backoff.length >= 5, `backoff events: ${backoff.length}`);
      assert.equal(spraying.length, 1);
      assert.deepEqual(
        { outcome: spraying[0]!.outcome, subject: spraying[0]!.subject, ip: spraying[0]!.ip },
        { outcome: 'failure', subject: 'alice', ip: '198.51.100.66' },
      );
      assert.equal(typeof spraying[0]!.details?.retry_after, 'number');
      // carol's attacker was refused several times within the minute: one event.
      assert.equal(events.filter((e) => e.subject === 'carol').length, 1);
      const ghost = events.find((e) => e.ip === '198.51.100.5' && e.subject === null);
      assert.ok(ghost, 'the unknown username is throttled with no subject');
      const everything = JSON.stringify((await server!.portcullis.audit.list({ limit: 1000 })).events);
      for (const secret of [PASSWORD, WRONG, 'Summer2024!']) assert.ok(!everything.includes(secret), 'no password in the audit log');
    });

    it(shared ? 'kept its bookkeeping in Redis, not in the fallback' : 'keeps its bookkeeping in-process', (t) => {
      if (!live(t)) return;
      assert.equal(server!.loginAttempts instanceof FallbackLoginAttemptStore, shared);
      if (shared) assert.equal((server!.loginAttempts as FallbackLoginAttemptStore).degraded, false);
    });
  });
}

throttleSuite('in-process store', async () => ({}));
throttleSuite('Redis store', async () => (await redisSkipReason()) ?? { REDIS_URL: TEST_REDIS_URL }, true);

describe('login backoff while Redis is down', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ ...BASE_ENV, REDIS_URL: 'redis://127.0.0.1:1' });
    await server.portcullis.users.create({ username: 'gina', password: PASSWORD });
  });
  after(() => server.stop());

  it('keeps the backoff in-process and lets logins through', async () => {
    const post = (password: string) =>
      server.fetch('/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '198.51.100.77' },
        body: new URLSearchParams({ username: 'gina', password }).toString(),
      });
    assert.equal((await post(WRONG)).status, 401);
    assert.equal((await post(WRONG)).status, 401);
    assert.equal((await post(PASSWORD)).status, 429);
    assert.equal((server.loginAttempts as FallbackLoginAttemptStore).degraded, true);
  });
});

describe('device cookie attributes', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ SECURE_COOKIES: 'on' });
    await server.portcullis.users.create({ username: 'frank', password: PASSWORD });
  });
  after(() => server.stop());

  it('is HttpOnly, SameSite=Strict, Path=/token, 90 days, and Secure with SECURE_COOKIES=on', async () => {
    const response = await server.fetch('/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'frank', password: PASSWORD }).toString(),
    });
    assert.equal(response.status, 200);
    const cookie = response.headers.get('set-cookie') ?? '';
    assert.match(cookie, /^portcullis_device=[A-Za-z0-9_-]{22}\.\d+\.[A-Za-z0-9_-]{43}; /);
    const attributes = cookie.split('; ').slice(1).sort();
    assert.deepEqual(attributes, ['HttpOnly', `Max-Age=${90 * 86_400}`, 'Path=/token', 'SameSite=Strict', 'Secure']);
  });
});
