import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuditLog } from '../audit/audit-log.js';
import type { AuditEvent } from '../audit/audit-event.js';
import { fixedClock } from '../clock.js';
import { LoginThrottledError } from '../errors.js';
import type { AuditStore } from '../ports.js';
// A core test may use the in-process store: it is the port's simplest faithful implementation.
import { MemoryLoginAttemptStore } from '../../storage/memory/memory-login-attempt-store.js';
import { backoffDelaySeconds, LoginGuard, SPRAY_WINDOW_MS, type LoginGuardSettings } from './login-guard.js';

const SETTINGS: LoginGuardSettings = { freeFailures: 2, baseSeconds: 1, maxSeconds: 8, sprayAccountsPerHour: 3 };

function setup(settings = SETTINGS) {
  const clock = fixedClock(1_700_000_000_000);
  const events: AuditEvent[] = [];
  const auditStore: AuditStore = { record: async (event) => void events.push(event), list: async () => ({ events: [], next: undefined }) };
  const store = new MemoryLoginAttemptStore();
  const guard = new LoginGuard({ store, settings, secretKey: 'login-guard-test-secret-long-enough-0123', clock, audit: new AuditLog(auditStore, clock) });
  const attempt = (username: string, ip: string, deviceToken?: string) =>
    guard.admit({ username, usernameKey: username, deviceToken, ip }, async () => (username.startsWith('ghost') ? null : username));
  /** A failed login: admitted, then failed. */
  const fail = async (username: string, ip: string, deviceToken?: string) => guard.failed(await attempt(username, ip, deviceToken));
  return { clock, events, store, guard, attempt, fail };
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
    const { guard, fail, attempt } = setup();
    const device = await guard.succeeded(await attempt('alice', '10.0.0.9'), 'alice');
    await fail('alice', '10.0.0.1');
    await fail('alice', '10.0.0.1');
    await refusal(attempt('alice', '10.0.0.1'));
    const ticket = await attempt('alice', '10.0.0.1', device);
    assert.ok(ticket.deviceId);
    // The device token of one account is nothing for another.
    await fail('bob', '10.0.0.1');
    await fail('bob', '10.0.0.1');
    await refusal(attempt('bob', '10.0.0.1', device));
  });

  it('clears the pair on success and hands back the same device id', async () => {
    const { guard, fail, attempt } = setup();
    await fail('alice', '10.0.0.1');
    const first = await guard.succeeded(await attempt('alice', '10.0.0.1'), 'alice');
    await fail('alice', '10.0.0.1');
    await attempt('alice', '10.0.0.1');
    const again = await guard.succeeded(await attempt('alice', '10.0.0.1', first), 'alice');
    assert.equal(again.split('.')[0], first.split('.')[0]);
  });

  it('throttles a source that failed on more than sprayAccountsPerHour accounts, for every account, for the window', async () => {
    const { clock, fail, attempt, guard } = setup();
    const device = await guard.succeeded(await attempt('owner', '10.0.0.5'), 'owner');
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

  it('refuses invalid settings at construction', () => {
    assert.throws(() => setup({ ...SETTINGS, maxSeconds: 0 }), TypeError);
  });
});
