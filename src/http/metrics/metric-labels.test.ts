import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEvent } from '../../core/audit/audit-event.js';
import {
  InvalidCredentialsError,
  InvalidRefreshTokenError,
  LoginThrottledError,
  OverloadedError,
  RateLimitedError,
  RefreshTokenReusedError,
  StorageUnavailableError,
} from '../../core/errors.js';
import { grantTypeOf, loginOutcomeOf, methodLabel, rateLimitBucketOf, refreshFailureOutcome, statusClass } from './metric-labels.js';

function event(type: AuditEvent['type'], details?: AuditEvent['details']): AuditEvent {
  return { id: '1', at: 0, type, outcome: 'failure', ...(details ? { details } : {}) };
}

function rateLimited(bucket: 'ip' | 'account'): RateLimitedError {
  return new RateLimitedError({
    bucket,
    settings: { perMinute: 1, burst: 1 },
    decision: { allowed: false, limit: 1, remaining: 0, resetSeconds: 60, retryAfterSeconds: 60 },
  });
}

describe('metric labels', () => {
  it('keeps methods to the standard ones', () => {
    assert.equal(methodLabel('GET'), 'GET');
    assert.equal(methodLabel('DELETE'), 'DELETE');
    assert.equal(methodLabel('PROPFIND'), 'OTHER');
    assert.equal(methodLabel('get'), 'OTHER');
  });

  it('classes statuses', () => {
    assert.deepEqual([200, 204, 301, 401, 429, 503].map(statusClass), ['2xx', '2xx', '3xx', '4xx', '4xx', '5xx']);
    assert.equal(statusClass(999), 'other');
  });

  it('reads login outcomes from the audit events, and nothing from other events', () => {
    assert.equal(loginOutcomeOf(event('login.success')), 'success');
    assert.equal(loginOutcomeOf(event('login.failure', { reason: 'wrong_password' })), 'wrong_password');
    assert.equal(loginOutcomeOf(event('login.failure', { reason: 'unknown_user' })), 'unknown_user');
    assert.equal(loginOutcomeOf(event('login.failure', { reason: 'disabled' })), 'disabled');
    assert.equal(loginOutcomeOf(event('login.failure', { reason: 'something new' })), 'other');
    assert.equal(loginOutcomeOf(event('login.throttled', { reason: 'backoff' })), undefined);
    assert.equal(loginOutcomeOf(event('password.changed', { reason: 'wrong_current_password' })), undefined);
  });

  it('names the bucket of a 429', () => {
    assert.equal(rateLimitBucketOf(rateLimited('ip')), 'ip');
    assert.equal(rateLimitBucketOf(rateLimited('account')), 'account');
    assert.equal(rateLimitBucketOf(new LoginThrottledError(5)), 'login_throttle');
    assert.equal(rateLimitBucketOf(new OverloadedError(1)), undefined);
    assert.equal(rateLimitBucketOf(new Error('x')), undefined);
  });

  it('tells how a refresh failed', () => {
    assert.equal(refreshFailureOutcome(new RefreshTokenReusedError()), 'reused');
    assert.equal(refreshFailureOutcome(new InvalidRefreshTokenError()), 'invalid');
    assert.equal(refreshFailureOutcome(new InvalidCredentialsError()), 'invalid');
    assert.equal(refreshFailureOutcome(rateLimited('ip')), 'rate_limited');
    assert.equal(refreshFailureOutcome(new OverloadedError(1)), 'error');
    assert.equal(refreshFailureOutcome(new StorageUnavailableError()), 'error');
    assert.equal(refreshFailureOutcome(Object.assign(new Error('bad body'), { statusCode: 400 })), 'invalid');
    assert.equal(refreshFailureOutcome(new Error('bug')), 'error');
  });

  it('reads the grant type of a /token body, the password grant when it is left out', () => {
    assert.equal(grantTypeOf({ grant_type: 'refresh_token', refresh_token: 'x' }), 'refresh_token');
    assert.equal(grantTypeOf({ username: 'a', password: 'b' }), 'password');
    assert.equal(grantTypeOf({ grant_type: '' }), 'password');
    assert.equal(grantTypeOf({ grant_type: ['refresh_token'] }), undefined);
    assert.equal(grantTypeOf(undefined), undefined);
    assert.equal(grantTypeOf('grant_type=refresh_token'), undefined);
  });
});
