import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuditLog } from '../../core/audit/audit-log.js';
import { fixedClock } from '../../core/clock.js';
import { LoginThrottledError, OverloadedError, RateLimitedError, RefreshTokenReusedError } from '../../core/errors.js';
import { WorkLimiter } from '../../core/passwords/work-limiter.js';
import { PortcullisMetrics } from './portcullis-metrics.js';

type Labels = Record<string, string | number>;

/** The value of one series (labels matched exactly), or undefined when the series does not exist. */
async function valueOf(metrics: PortcullisMetrics, name: string, labels: Labels = {}): Promise<number | undefined> {
  const base = name.replace(/_(count|sum|bucket)$/, '');
  const metric = metrics.registry.getSingleMetric(base) ?? metrics.registry.getSingleMetric(name);
  if (!metric) return undefined;
  const { values } = await metric.get();
  const wanted = JSON.stringify(Object.entries(labels).sort());
  const found = values.find(
    (value) =>
      ((value as { metricName?: string }).metricName ?? name) === name && JSON.stringify(Object.entries(value.labels).sort()) === wanted,
  );
  return found?.value;
}

function auditLog(): AuditLog {
  return new AuditLog({ record: async () => undefined, list: async () => ({ events: [], next: undefined }) }, fixedClock(0));
}

function rateLimited(bucket: 'ip' | 'account'): RateLimitedError {
  return new RateLimitedError({
    bucket,
    settings: { perMinute: 1, burst: 1 },
    decision: { allowed: false, limit: 1, remaining: 0, resetSeconds: 60, retryAfterSeconds: 60 },
  });
}

describe('PortcullisMetrics', () => {
  it('keeps two instances in one process apart: same names, separate registries', async () => {
    const one = new PortcullisMetrics({ processMetrics: false });
    const two = new PortcullisMetrics({ processMetrics: false });
    one.observeRequest('GET', '/healthz', 200, 0.002);
    one.observeRequest('GET', '/healthz', 200, 0.003);
    two.observeRequest('GET', '/healthz', 200, 0.002);
    const labels = { method: 'GET', route: '/healthz', status: '200' };
    assert.equal(await valueOf(one, 'portcullis_http_requests_total', labels), 2);
    assert.equal(await valueOf(two, 'portcullis_http_requests_total', labels), 1);
  });

  it('counts requests by route and status, and times them by status class', async () => {
    const metrics = new PortcullisMetrics({ processMetrics: false });
    metrics.observeRequest('POST', '/token', 200, 0.08);
    metrics.observeRequest('POST', '/token', 401, 0.07);
    metrics.observeRequest('BREW', 'unmatched', 404, 0.0001);
    assert.equal(await valueOf(metrics, 'portcullis_http_requests_total', { method: 'POST', route: '/token', status: '401' }), 1);
    assert.equal(await valueOf(metrics, 'portcullis_http_requests_total', { method: 'OTHER', route: 'unmatched', status: '404' }), 1);
    const twoXx = { method: 'POST', route: '/token', status_class: '2xx' };
    assert.equal(await valueOf(metrics, 'portcullis_http_request_duration_seconds_count', twoXx), 1);
    assert.equal(await valueOf(metrics, 'portcullis_http_request_duration_seconds_bucket', { ...twoXx, le: 0.05 }), 0);
    assert.equal(await valueOf(metrics, 'portcullis_http_request_duration_seconds_bucket', { ...twoXx, le: 0.1 }), 1);
  });

  it('starts every login, refresh and rate-limit series at 0', async () => {
    const metrics = new PortcullisMetrics({ processMetrics: false });
    for (const outcome of ['success', 'wrong_password', 'unknown_user', 'disabled', 'throttled']) {
      assert.equal(await valueOf(metrics, 'portcullis_logins_total', { outcome }), 0, outcome);
    }
    for (const outcome of ['success', 'reused', 'invalid', 'rate_limited', 'error']) {
      assert.equal(await valueOf(metrics, 'portcullis_token_refreshes_total', { outcome }), 0, outcome);
    }
    for (const bucket of ['ip', 'account', 'login_throttle']) {
      assert.equal(await valueOf(metrics, 'portcullis_rate_limited_total', { bucket }), 0, bucket);
    }
    assert.equal(await valueOf(metrics, 'portcullis_refresh_reuse_detected_total'), 0);
  });

  it('counts logins and reuse detections from the audit log, until closed', async () => {
    const audit = auditLog();
    const metrics = new PortcullisMetrics({ audit, processMetrics: false });
    await audit.record({ type: 'login.success', outcome: 'success' });
    await audit.record({ type: 'login.failure', outcome: 'failure', details: { reason: 'unknown_user' } });
    await audit.record({ type: 'login.failure', outcome: 'failure', details: { reason: 'unknown_user' } });
    await audit.record({ type: 'refresh.reuse_detected', outcome: 'failure' });
    await audit.record({ type: 'session.revoked', outcome: 'success' });
    assert.equal(await valueOf(metrics, 'portcullis_logins_total', { outcome: 'success' }), 1);
    assert.equal(await valueOf(metrics, 'portcullis_logins_total', { outcome: 'unknown_user' }), 2);
    assert.equal(await valueOf(metrics, 'portcullis_refresh_reuse_detected_total'), 1);
    metrics.close();
    await audit.record({ type: 'login.success', outcome: 'success' });
    assert.equal(await valueOf(metrics, 'portcullis_logins_total', { outcome: 'success' }), 1);
  });

  it('counts 429s by bucket, throttled logins, and refresh outcomes', async () => {
    const metrics = new PortcullisMetrics({ processMetrics: false });
    metrics.observeError(rateLimited('ip'), false);
    metrics.observeError(rateLimited('account'), false);
    metrics.observeError(new LoginThrottledError(60), false);
    metrics.observeError(rateLimited('ip'), true);
    metrics.observeError(new RefreshTokenReusedError(), true);
    metrics.observeError(new OverloadedError(1), false);
    metrics.observeRefreshSuccess();
    assert.equal(await valueOf(metrics, 'portcullis_rate_limited_total', { bucket: 'ip' }), 2);
    assert.equal(await valueOf(metrics, 'portcullis_rate_limited_total', { bucket: 'account' }), 1);
    assert.equal(await valueOf(metrics, 'portcullis_rate_limited_total', { bucket: 'login_throttle' }), 1);
    assert.equal(await valueOf(metrics, 'portcullis_logins_total', { outcome: 'throttled' }), 1);
    assert.equal(await valueOf(metrics, 'portcullis_token_refreshes_total', { outcome: 'rate_limited' }), 1);
    assert.equal(await valueOf(metrics, 'portcullis_token_refreshes_total', { outcome: 'reused' }), 1);
    assert.equal(await valueOf(metrics, 'portcullis_token_refreshes_total', { outcome: 'success' }), 1);
  });

  it('reports the hashing pool: waits, queue depth, hashes in progress and admission rejections', async () => {
    const clock = fixedClock(0);
    const limiter = new WorkLimiter(1, 1, { clock });
    const metrics = new PortcullisMetrics({ hashLimiter: limiter, processMetrics: false });
    let release!: () => void;
    const running = limiter.run(() => new Promise<void>((resolve) => (release = resolve)));
    const queued = limiter.run(async () => undefined);
    await assert.rejects(
      limiter.run(async () => undefined),
      OverloadedError,
    );
    assert.equal(await valueOf(metrics, 'portcullis_hash_in_progress'), 1);
    assert.equal(await valueOf(metrics, 'portcullis_hash_queue_depth'), 1);
    assert.equal(await valueOf(metrics, 'portcullis_admission_rejected_total', { reason: 'at_admission' }), 1);
    assert.equal(await valueOf(metrics, 'portcullis_admission_rejected_total', { reason: 'timed_out' }), 0);
    clock.advance(40);
    release();
    await Promise.all([running, queued]);
    assert.equal(await valueOf(metrics, 'portcullis_hash_queue_depth'), 0);
    // The waits of the two tasks that ran: 0 (a slot was free) and 40 ms (queued behind the first).
    assert.equal(await valueOf(metrics, 'portcullis_hash_wait_seconds_count'), 2);
    assert.equal(await valueOf(metrics, 'portcullis_hash_wait_seconds_bucket', { le: 0.001 }), 1);
    assert.equal(await valueOf(metrics, 'portcullis_hash_wait_seconds_bucket', { le: 0.025 }), 1);
    assert.equal(await valueOf(metrics, 'portcullis_hash_wait_seconds_bucket', { le: 0.05 }), 2);
    assert.equal(await valueOf(metrics, 'portcullis_hash_wait_seconds_sum'), 0.04);
    // Asked twice, the counter does not double.
    assert.equal(await valueOf(metrics, 'portcullis_admission_rejected_total', { reason: 'at_admission' }), 1);
    metrics.close();
    await limiter.run(async () => undefined);
    assert.equal(await valueOf(metrics, 'portcullis_hash_wait_seconds_count'), 2);
  });

  it('counts active sessions at most once per maxAge, and leaves out its sample while counting fails', async () => {
    const clock = fixedClock(1_000_000);
    const answers: Array<number | Error> = [4, new Error('database down'), 6];
    const asked: number[] = [];
    const sessions = {
      countActive: (nowMs: number) => {
        asked.push(nowMs);
        const answer = answers.shift()!;
        return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
      },
    };
    const metrics = new PortcullisMetrics({ sessions, clock, activeSessionsMaxAgeMs: 5_000, processMetrics: false });
    assert.equal(await valueOf(metrics, 'portcullis_active_sessions'), 4);
    assert.equal(await valueOf(metrics, 'portcullis_active_sessions'), 4);
    assert.deepEqual(asked, [1_000_000]);
    clock.advance(5_000);
    assert.equal(await valueOf(metrics, 'portcullis_active_sessions'), undefined);
    assert.doesNotMatch(await metrics.scrape(), /^portcullis_active_sessions /m);
    clock.advance(5_000);
    assert.match(await metrics.scrape(), /^portcullis_active_sessions 6$/m);
  });

  it('includes the process metrics, shared by every instance, unless asked not to', async () => {
    const one = await new PortcullisMetrics().scrape();
    const two = await new PortcullisMetrics().scrape();
    const none = await new PortcullisMetrics({ processMetrics: false }).scrape();
    for (const text of [one, two]) {
      assert.match(text, /^# TYPE portcullis_process_cpu_seconds_total counter$/m);
      assert.match(text, /^portcullis_process_resident_memory_bytes \d+/m);
      assert.match(text, /^portcullis_nodejs_heap_size_used_bytes \d+/m);
    }
    assert.doesNotMatch(none, /portcullis_process_/);
  });
});
