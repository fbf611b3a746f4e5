import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ActionContext } from '../action-context.js';
import type { AuditEvent } from '../audit/audit-event.js';
import { AuditLog } from '../audit/audit-log.js';
import { fixedClock } from '../clock.js';
import type { AbuseSettings, TokenBucketSettings } from '../config.js';
import { loadConfig } from '../../server/config.js';
import { RateLimitedError } from '../errors.js';
import type { AuditStore, RateLimiter, UserStore } from '../ports.js';
import type { User } from '../users/user.js';
import { RateLimits, type RateLimitRequest } from './rate-limits.js';
import { takeTokens, type BucketState } from './token-bucket.js';

const clock = fixedClock(1_700_000_000_000);

/** The token-bucket arithmetic over a Map, on the fixed clock; it remembers the keys it saw. */
class MapLimiter implements RateLimiter {
  readonly states = new Map<string, BucketState>();
  async consume(key: string, bucket: TokenBucketSettings, cost = 1) {
    const step = takeTokens(this.states.get(key), bucket, cost, clock.now());
    this.states.set(key, step.state);
    return step.decision;
  }
}

function settings(env: Record<string, string> = {}): AbuseSettings {
  return loadConfig({
    SECRET_KEY: 'x'.repeat(40),
    RATE_LIMIT_IP_PER_MINUTE: '60',
    RATE_LIMIT_IP_BURST: '5',
    RATE_LIMIT_ACCOUNT_PER_MINUTE: '60',
    RATE_LIMIT_ACCOUNT_BURST: '2',
    ...env,
  }).abuse;
}

const users = {
  async findByKey(key: string) {
    return key === 'alice' ? ({ username: 'Alice' } as User) : undefined;
  },
} as unknown as UserStore;

describe('RateLimits', () => {
  let limiter: MapLimiter;
  let events: AuditEvent[];
  let audit: AuditLog;
  const from = (ip: string): ActionContext => ({ actor: 'anonymous', ip });
  const login = (username: string): RateLimitRequest => ({ action: 'token', username });

  beforeEach(() => {
    limiter = new MapLimiter();
    events = [];
    const store: AuditStore = { record: async (event) => void events.push(event), list: async () => ({ events: [], next: undefined }) };
    audit = new AuditLog(store, clock);
  });

  const limits = (env: Record<string, string> = {}, withLimiter = true) =>
    new RateLimits({ limiter: withLimiter ? limiter : undefined, settings: settings(env), audit, users });

  async function refusal(promise: Promise<unknown>): Promise<RateLimitedError> {
    const error = await promise.then(
      () => assert.fail('expected RateLimitedError'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof RateLimitedError);
    return error;
  }

  it('does nothing when rate limits are off, or there is no limiter', async () => {
    for (const rateLimits of [limits({ RATE_LIMITS: 'off' }), limits({}, false)]) {
      assert.equal(rateLimits.enabled, false);
      for (let i = 0; i < 10; i += 1) assert.equal(await rateLimits.check(login('alice'), from('192.0.2.1')), undefined);
    }
    assert.equal(limiter.states.size, 0);
  });

  it('refuses a client address once its bucket is empty, on every limited action alike', async () => {
    const rateLimits = limits();
    for (const action of ['sign_up', 'revoke', 'introspect', 'token', 'password_change'] as const) {
      const check = await rateLimits.check({ action }, from('192.0.2.1'));
      assert.equal(check?.bucket, 'ip');
    }
    const error = await refusal(rateLimits.check({ action: 'revoke' }, from('192.0.2.1')));
    assert.equal(error.code, 'ERR_RATE_LIMITED');
    assert.equal(error.check.bucket, 'ip');
    assert.equal(error.retryAfterSeconds, 1);
    assert.equal((await rateLimits.check({ action: 'revoke' }, from('192.0.2.2')))?.decision.allowed, true);
    assert.ok(limiter.states.has('ip:192.0.2.1'));
  });

  it('counts an IPv6 /64 as one client', async () => {
    const rateLimits = limits();
    for (let i = 1; i <= 5; i += 1) await rateLimits.check({ action: 'sign_up' }, from(`2001:db8:1:2::${i}`));
    await refusal(rateLimits.check({ action: 'sign_up' }, from('2001:db8:1:2:ffff::9')));
    assert.ok(await rateLimits.check({ action: 'sign_up' }, from('2001:db8:1:3::1')));
  });

  it('limits an account on the password grant and the password change, however its name is written', async () => {
    const rateLimits = limits();
    await rateLimits.check(login('Alice'), from('192.0.2.1'));
    await rateLimits.check({ action: 'password_change', username: 'alice' }, from('192.0.2.2'));
    const error = await refusal(rateLimits.check(login('ＡＬＩＣＥ'), from('192.0.2.3')));
    assert.equal(error.check.bucket, 'account');
    assert.equal((await rateLimits.check(login('bob'), from('192.0.2.3')))?.decision.allowed, true);
  });

  it('does not count other actions against the account', async () => {
    const rateLimits = limits();
    for (let i = 0; i < 4; i += 1) await rateLimits.check({ action: 'sign_up', username: 'alice' }, from('192.0.2.1'));
    assert.equal(
      [...limiter.states.keys()].some((key) => key.startsWith('account:')),
      false,
    );
  });

  it('returns the check closest to running out', async () => {
    const rateLimits = limits();
    const check = await rateLimits.check(login('alice'), from('192.0.2.1'));
    assert.equal(check?.bucket, 'account');
    assert.equal(check?.decision.remaining, 1);
    assert.equal(check?.decision.limit, 2);
  });

  it('keeps a bucket of bounded size for a huge username', async () => {
    const rateLimits = limits();
    await rateLimits.check(login('x'.repeat(5000)), from('192.0.2.1'));
    for (const key of limiter.states.keys()) assert.ok(key.length < 100, key);
  });

  it('audits a throttle decision once per bucket a minute, naming only an existing account', async () => {
    const rateLimits = limits({ RATE_LIMIT_IP_BURST: '100' });
    for (let i = 0; i < 2; i += 1) await rateLimits.check(login('alice'), from('192.0.2.1'));
    for (let i = 0; i < 5; i += 1) await refusal(rateLimits.check(login('alice'), from('192.0.2.1')));
    assert.equal(events.length, 1);
    assert.deepEqual(
      { type: events[0]?.type, outcome: events[0]?.outcome, subject: events[0]?.subject, ip: events[0]?.ip, details: events[0]?.details },
      {
        type: 'rate_limit.exceeded',
        outcome: 'failure',
        subject: 'Alice',
        ip: '192.0.2.1',
        details: { bucket: 'account', route: 'token' },
      },
    );

    for (let i = 0; i < 2; i += 1) await rateLimits.check(login('hunter2'), from('192.0.2.9'));
    await refusal(rateLimits.check(login('hunter2'), from('192.0.2.9')));
    assert.equal(events.length, 2);
    assert.equal(events[1]?.subject, null, 'a name that is no account stays out of the log');

    clock.advance(60_000);
    for (let i = 0; i < 2; i += 1) await rateLimits.check(login('alice'), from('192.0.2.1')).catch(() => undefined);
    await refusal(rateLimits.check(login('alice'), from('192.0.2.1')));
    assert.equal(events.length, 3, 'a minute later, once more');
  });

  it("keeps each kind of account mail in a bucket of its own, apart from the login's, and audits its route", async () => {
    const rateLimits = limits();
    const user = { username: 'Mia', usernameKey: 'mia' } as User;
    const hourly: TokenBucketSettings = { perMinute: 2 / 60, burst: 2 };
    for (let i = 0; i < 2; i += 1) assert.equal(await rateLimits.allowAccountMail('sign_in_link', user, hourly, from('192.0.2.5')), true);
    assert.equal(await rateLimits.allowAccountMail('sign_in_link', user, hourly, from('192.0.2.5')), false);
    assert.equal(
      await rateLimits.allowAccountMail('password_forgot', user, hourly, from('192.0.2.5')),
      true,
      'the reset mails have their own bucket',
    );
    await rateLimits.check(login('mia'), from('192.0.2.5'));
    assert.deepEqual(
      events.map((event) => event.details),
      [{ bucket: 'account', route: 'sign_in_link' }],
    );
  });
});
