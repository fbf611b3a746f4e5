import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuditLog } from '../audit/audit-log.js';
import type { AuditEvent } from '../audit/audit-event.js';
import { fixedClock } from '../clock.js';
import { InvalidRequestError, LoginThrottledError, RateLimitedError } from '../errors.js';
import type { AuditStore, UserStore } from '../ports.js';
import { RateLimits } from '../rate-limit/rate-limits.js';
// A core test may use the in-process stores: they are the ports' simplest faithful implementations.
import { MemoryLoginAttemptStore } from '../../storage/memory/memory-login-attempt-store.js';
import { MemoryRateLimiter } from '../../storage/memory/memory-rate-limiter.js';
import { challengeOf, solve } from '../../../test/helpers/challenge.js';
import { loadConfig } from '../../server/config.js';
import { LoginChallenges } from './login-challenge.js';
import { backoffDelaySeconds, doublings, LoginGuard, SPRAY_WINDOW_MS, type LoginGuardSettings } from './login-guard.js';

const SETTINGS: LoginGuardSettings = { freeFailures: 2, baseSeconds: 1, maxSeconds: 8, sprayAccountsPerHour: 3 };
const SECRET = 'login-guard-test-secret-long-enough-0123';
/** Tiny challenges (a few PBKDF2 calls), doubling at most 3 times. */
const CHALLENGE = { work: 2000, maxDoublings: 3 };

function setup(settings = SETTINGS, options: { accountBurst?: number; signInLinks?: boolean } = {}) {
  const clock = fixedClock(1_700_000_000_000);
  const events: AuditEvent[] = [];
  const auditStore: AuditStore = { record: async (event) => void events.push(event), list: async () => ({ events: [], next: undefined }) };
  const audit = new AuditLog(auditStore, clock);
  const store = new MemoryLoginAttemptStore();
  const accountBurst = options.accountBurst ?? 1000;
  const abuse = loadConfig({
    SECRET_KEY: SECRET,
    RATE_LIMIT_IP_BURST: '1000',
    RATE_LIMIT_ACCOUNT_BURST: String(accountBurst),
    RATE_LIMIT_ACCOUNT_PER_MINUTE: '1',
  }).abuse;
  const limiter = new MemoryRateLimiter({ clock });
  const rateLimits = new RateLimits({
    limiter,
    settings: abuse,
    audit,
    users: { findByKey: async () => undefined } as unknown as UserStore,
  });
  const challenges = new LoginChallenges(SECRET, clock, CHALLENGE);
  const guard = new LoginGuard({
    store,
    settings,
    secretKey: SECRET,
    clock,
    audit,
    rateLimits,
    challenges,
    accountBurst,
    ...(options.signInLinks === undefined ? {} : { signInLinks: options.signInLinks }),
  });
  const attempt = async (username: string, ip: string, deviceToken?: string, challengeSolution?: string, tokenVersion = 0) =>
    guard.admit(
      'token',
      { username, usernameKey: username, deviceToken, tokenVersion, challengeSolution },
      { ip, actor: 'test' },
      async () => (username.startsWith('ghost') ? null : username),
    );
  /** A failed login: admitted, then failed. */
  const fail = async (username: string, ip: string, deviceToken?: string, challengeSolution?: string) =>
    guard.failed((await attempt(username, ip, deviceToken, challengeSolution)).ticket);
  const succeed = async (username: string, ip: string, deviceToken?: string, tokenVersion = 0) =>
    guard.succeeded((await attempt(username, ip, deviceToken, undefined, tokenVersion)).ticket, username, tokenVersion);
  return { clock, events, store, guard, attempt, fail, succeed, limiter, rateLimits };
}

async function refusal(promise: Promise<unknown>): Promise<LoginThrottledError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof LoginThrottledError, String(error));
    return error;
  }
  assert.fail('expected LoginThrottledError');
}

/** The level a refusal's challenge was issued at. */
function levelOf(error: LoginThrottledError | RateLimitedError): number {
  return challengeOf(error).parameters.data!.level as number;
}

describe('backoffDelaySeconds', () => {
  it('is free for the first failures, then doubles up to the cap', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 50].map((n) => backoffDelaySeconds(n, SETTINGS)),
      [0, 0, 1, 2, 4, 8, 8, 8],
    );
    assert.equal(backoffDelaySeconds(1, { ...SETTINGS, freeFailures: 0 }), 2);
    assert.equal(backoffDelaySeconds(10_000, { ...SETTINGS, maxSeconds: 86_400 }), 86_400);
  });
});

describe('LoginGuard', () => {
  it('backs a pair off after the free failures, until base * 2^(n - free) after the last one', async () => {
    const { clock, fail, attempt } = setup();
    await fail('alice', '10.0.0.1');
    await fail('alice', '10.0.0.1');
    assert.equal((await refusal(attempt('alice', '10.0.0.1'))).retryAfterSeconds, 1);
    clock.advance(1000);
    await fail('alice', '10.0.0.1');
    assert.equal((await refusal(attempt('alice', '10.0.0.1'))).retryAfterSeconds, 2);
    clock.advance(1500);
    assert.equal((await refusal(attempt('alice', '10.0.0.1'))).retryAfterSeconds, 1);
    clock.advance(500);
    await attempt('alice', '10.0.0.1');
  });

  it('does not slow the same account from another address, nor another account from the same address', async () => {
    const { fail, attempt } = setup();
    await fail('alice', '10.0.0.1');
    await fail('alice', '10.0.0.1');
    await refusal(attempt('alice', '10.0.0.1'));
    await attempt('alice', '10.0.0.2');
    await attempt('bob', '10.0.0.1');
  });

  it('counts an IPv6 /64 as one source', async () => {
    const { fail, attempt } = setup();
    await fail('alice', '2001:db8:1:2::1');
    await fail('alice', '2001:db8:1:2::ffff');
    await refusal(attempt('alice', '2001:db8:1:2:abcd::9'));
    await attempt('alice', '2001:db8:1:3::1');
  });

  it('keys a valid device token of the account by the device, not the address', async () => {
    const { succeed, fail, attempt } = setup();
    const device = await succeed('alice', '10.0.0.9');
    await fail('alice', '10.0.0.1');
    await fail('alice', '10.0.0.1');
    await refusal(attempt('alice', '10.0.0.1'));
    const { ticket } = await attempt('alice', '10.0.0.1', device);
    assert.ok(ticket.deviceId);
    // After a password change (a new token version) the device token counts for nothing.
    await refusal(attempt('alice', '10.0.0.1', device, undefined, 1));
    // The device token of one account is nothing for another.
    await fail('bob', '10.0.0.1');
    await fail('bob', '10.0.0.1');
    await refusal(attempt('bob', '10.0.0.1', device));
  });

  it('clears the pair on success and hands back the same device id', async () => {
    const { succeed, fail, attempt } = setup();
    await fail('alice', '10.0.0.1');
    const first = await succeed('alice', '10.0.0.1');
    await fail('alice', '10.0.0.1');
    await attempt('alice', '10.0.0.1');
    const again = await succeed('alice', '10.0.0.1', first);
    assert.equal(again.split('.')[0], first.split('.')[0]);
  });

  it('throttles a source that failed on more than sprayAccountsPerHour accounts, for every account, for the window', async () => {
    const { clock, fail, attempt, succeed } = setup();
    const device = await succeed('owner', '10.0.0.5');
    for (const name of ['a1', 'a2', 'a3', 'a4']) await fail(name, '10.0.0.5');
    const refused = await refusal(attempt('fresh', '10.0.0.5'));
    assert.equal(refused.retryAfterSeconds, SPRAY_WINDOW_MS / 1000);
    await attempt('fresh', '10.0.0.6');
    // The owner's device behind the same address is not the sprayer.
    await attempt('owner', '10.0.0.5', device);
    clock.advance(SPRAY_WINDOW_MS);
    await attempt('fresh', '10.0.0.5');
  });

  it('audits each throttle decision at most once a minute per key, naming only existing accounts', async () => {
    const { clock, events, fail, attempt } = setup();
    for (const name of ['ghost-1', 'ghost-1']) await fail(name, '10.0.0.1');
    for (let i = 0; i < 5; i += 1) await refusal(attempt('ghost-1', '10.0.0.1'));
    for (const name of ['alice', 'alice']) await fail(name, '10.0.0.2');
    await refusal(attempt('alice', '10.0.0.2'));
    assert.deepEqual(
      events.map((e) => [e.type, e.outcome, e.subject, e.ip, e.details]),
      [
        ['login.throttled', 'failure', null, '10.0.0.1', { reason: 'backoff', retry_after: 1 }],
        ['login.throttled', 'failure', 'alice', '10.0.0.2', { reason: 'backoff', retry_after: 1 }],
      ],
    );
    clock.advance(60_000);
    await fail('ghost-1', '10.0.0.1');
    await refusal(attempt('ghost-1', '10.0.0.1'));
    assert.equal(events.length, 3);
  });

  it('carries a challenge whose solution lets one attempt through, once, for that account only', async () => {
    const { fail, attempt } = setup();
    await fail('alice', '10.0.0.1');
    await fail('alice', '10.0.0.1');
    const refused = await refusal(attempt('alice', '10.0.0.1'));
    const { solution } = await solve(challengeOf(refused));
    // Not for another account.
    await fail('bob', '10.0.0.1');
    await fail('bob', '10.0.0.1');
    await refusal(attempt('bob', '10.0.0.1', undefined, solution));
    const through = await attempt('alice', '10.0.0.1', undefined, solution);
    assert.equal(through.challenged, true);
    // Used once: the second time it is as good as none, and the refusal brings a new challenge.
    const again = await refusal(attempt('alice', '10.0.0.1', undefined, solution));
    assert.notEqual(challengeOf(again).signature, challengeOf(refused).signature);
  });

  it('refuses an expired solution, and a malformed one with InvalidRequestError', async () => {
    const { clock, fail, attempt } = setup({ ...SETTINGS, maxSeconds: 86_400, baseSeconds: 3600 });
    await fail('alice', '10.0.0.1');
    await fail('alice', '10.0.0.1');
    const { solution } = await solve(challengeOf(await refusal(attempt('alice', '10.0.0.1'))));
    clock.advance(10 * 60_000);
    await refusal(attempt('alice', '10.0.0.1', undefined, solution));
    for (const junk of ['', 'not base64!', Buffer.from('{"challenge":1}').toString('base64'), 'x'.repeat(5000)]) {
      await assert.rejects(attempt('alice', '10.0.0.1', undefined, junk), InvalidRequestError, junk);
    }
  });

  it('raises the work with the attack: each failure past the free ones doubles it, up to the cap', async () => {
    const { fail, attempt } = setup({ ...SETTINGS, maxSeconds: 86_400, baseSeconds: 3600 });
    await fail('alice', '10.0.0.1');
    await fail('alice', '10.0.0.1');
    const levels: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const refused = await refusal(attempt('alice', '10.0.0.1'));
      levels.push(levelOf(refused));
      const { solution } = await solve(challengeOf(refused));
      await fail('alice', '10.0.0.1', undefined, solution);
    }
    assert.deepEqual(levels, [0, 1, 2, 3, 3]);
  });

  it('spends the account bucket only on attempts nothing else refused, and challenges its refusals too', async () => {
    const { fail, attempt } = setup(SETTINGS, { accountBurst: 3 });
    // One address trips its own backoff and keeps trying: none of those spend the account's bucket.
    await fail('alice', '10.0.0.1');
    await fail('alice', '10.0.0.1');
    for (let i = 0; i < 10; i += 1) await refusal(attempt('alice', '10.0.0.1'));
    await attempt('alice', '10.0.0.2');
    // The bucket (3) is spent by attempts that reached the password check: 2 + 1 so far.
    let refused: unknown;
    await attempt('alice', '10.0.0.3').catch((error: unknown) => (refused = error));
    assert.ok(refused instanceof RateLimitedError, String(refused));
    assert.equal(refused.check.bucket, 'account');
    const { solution } = await solve(challengeOf(refused));
    assert.equal((await attempt('alice', '10.0.0.3', undefined, solution)).challenged, true);
  });

  it('counts doublings of a count past twice its unit', () => {
    assert.deepEqual(
      [0, 9, 19, 20, 39, 40, 80, 160, 320].map((n) => doublings(n, 10)),
      [0, 0, 0, 1, 1, 2, 3, 4, 5],
    );
  });

  it('with sign-in links on, says so in the refusals of a login, not in those of a password change', async () => {
    const off = setup();
    for (let i = 0; i < 2; i += 1) await off.fail('nina', '10.0.0.9');
    assert.equal((await refusal(off.attempt('nina', '10.0.0.9'))).signInLinkAvailable, false);

    const on = setup(SETTINGS, { signInLinks: true });
    for (let i = 0; i < 2; i += 1) await on.fail('nina', '10.0.0.9');
    assert.equal((await refusal(on.attempt('nina', '10.0.0.9'))).signInLinkAvailable, true, 'the backoff');
    const change = await on.guard
      .admit(
        'password_change',
        { username: 'nina', usernameKey: 'nina', deviceToken: undefined, tokenVersion: 0 },
        { ip: '10.0.0.9', actor: 'nina' },
        async () => 'nina',
      )
      .then(
        () => assert.fail('expected a refusal'),
        (error: unknown) => error,
      );
    assert.ok(change instanceof LoginThrottledError && !change.signInLinkAvailable, 'a password change needs the password');

    const bucket = setup(SETTINGS, { signInLinks: true, accountBurst: 1 });
    await bucket.fail('olga', '10.0.0.1');
    const refused = await bucket.attempt('olga', '10.0.0.2').then(
      () => assert.fail('expected RateLimitedError'),
      (error: unknown) => error,
    );
    assert.ok(refused instanceof RateLimitedError && refused.signInLinkAvailable, 'the account bucket');
  });

  it('refuses invalid settings at construction', () => {
    assert.throws(() => setup({ ...SETTINGS, maxSeconds: 0 }), TypeError);
  });
});
