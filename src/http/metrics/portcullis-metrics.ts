/**
 * The Prometheus metrics of one Portcullis server, in a registry of its own (never prom-client's global one).
 * Core knows nothing of it: it listens to the audit log and the hashing pool, the HTTP hooks report requests,
 * and the gauges (queue depth; active sessions, at most once per `activeSessionsMaxAgeMs`) are computed at
 * scrape time (ADR 0017).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import type { AuditEvent } from '../../core/audit/audit-event.js';
import type { AuditLog } from '../../core/audit/audit-log.js';
import { systemClock, type Clock } from '../../core/clock.js';
import type { WorkLimiter } from '../../core/passwords/work-limiter.js';
import type { OutboxStore, SessionStore } from '../../core/ports.js';
import type { OutboxStats } from '../../core/outbox/outbox-message.js';
import { CachedCount, CachedValue } from './cached-count.js';
import {
  LOGIN_OUTCOMES,
  methodLabel,
  statusClass,
  loginOutcomeOf,
  RATE_LIMIT_BUCKETS,
  rateLimitBucketOf,
  REFRESH_OUTCOMES,
  refreshFailureOutcome,
} from './metric-labels.js';

/** Counts and times one answered request of a fixed method, route and status. */
export type RequestObserver = (durationSeconds: number) => void;

export const METRIC_PREFIX = 'portcullis_';
/** Latencies of an auth server: sub-millisecond token checks to password hashes of a few hundred ms. */
const REQUEST_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const HASH_WAIT_BUCKETS_SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const DEFAULT_ACTIVE_SESSIONS_MAX_AGE_MS = 5_000;

export interface MetricsSources {
  /** Logins and reuse detections are counted from the events core records. */
  readonly audit?: AuditLog;
  /** The password-hashing pool: queue depth, wait times, admission rejections. */
  readonly hashLimiter?: WorkLimiter;
  /** Counts the live sessions for `portcullis_active_sessions`. */
  readonly sessions?: Pick<SessionStore, 'countActive'>;
  /** How long one session count is reused (default 5 s), so scrapes cannot hammer the database. */
  readonly activeSessionsMaxAgeMs?: number;
  /** The mail outbox: queued, sent, failed, the oldest queued message's age (counted as often as the sessions). */
  readonly outbox?: Pick<OutboxStore, 'stats'>;
  readonly clock?: Clock;
  /** prom-client's process metrics (CPU, memory, event loop, GC); default true. */
  readonly processMetrics?: boolean;
}

export class PortcullisMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly requestDuration: Histogram<'method' | 'route' | 'status_class'>;
  private readonly logins: Counter<'outcome'>;
  private readonly refreshes: Counter<'outcome'>;
  private readonly reuseDetected: Counter;
  private readonly rateLimited: Counter<'bucket'>;
  private readonly detach: Array<() => void> = [];

  constructor(sources: MetricsSources = {}) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: `${METRIC_PREFIX}http_requests_total`,
      help: 'HTTP requests answered, by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: `${METRIC_PREFIX}http_request_duration_seconds`,
      help: 'Time from receiving a request to answering it, by method, route pattern and status class.',
      labelNames: ['method', 'route', 'status_class'],
      buckets: [...REQUEST_BUCKETS_SECONDS],
      registers,
    });
    this.logins = new Counter({
      name: `${METRIC_PREFIX}logins_total`,
      help: 'Password logins by outcome (throttled: refused by the login backoff before the password was checked).',
      labelNames: ['outcome'],
      registers,
    });
    this.refreshes = new Counter({
      name: `${METRIC_PREFIX}token_refreshes_total`,
      help: 'grant_type=refresh_token requests by outcome.',
      labelNames: ['outcome'],
      registers,
    });
    this.reuseDetected = new Counter({
      name: `${METRIC_PREFIX}refresh_reuse_detected_total`,
      help: 'Retired refresh tokens presented again (each ends its session).',
      registers,
    });
    this.rateLimited = new Counter({
      name: `${METRIC_PREFIX}rate_limited_total`,
      help: 'Requests refused with 429, by bucket (ip, account, login_throttle).',
      labelNames: ['bucket'],
      registers,
    });
    // Every series exists from the start, so rate() and absent() work before the first event.
    for (const outcome of LOGIN_OUTCOMES) this.logins.inc({ outcome }, 0);
    for (const outcome of REFRESH_OUTCOMES) this.refreshes.inc({ outcome }, 0);
    for (const bucket of RATE_LIMIT_BUCKETS) this.rateLimited.inc({ bucket }, 0);

    if (sources.audit) this.detach.push(sources.audit.observe(this.observeAudit));
    if (sources.hashLimiter) this.watchHashLimiter(sources.hashLimiter);
    if (sources.sessions) {
      const sessions = sources.sessions;
      const maxAgeMs = sources.activeSessionsMaxAgeMs ?? DEFAULT_ACTIVE_SESSIONS_MAX_AGE_MS;
      this.watchActiveSessions(new CachedCount((nowMs) => sessions.countActive(nowMs), sources.clock ?? systemClock, maxAgeMs));
    }
    if (sources.outbox) {
      const outbox = sources.outbox;
      const maxAgeMs = sources.activeSessionsMaxAgeMs ?? DEFAULT_ACTIVE_SESSIONS_MAX_AGE_MS;
      this.watchOutbox(new CachedValue((nowMs) => outbox.stats(nowMs), sources.clock ?? systemClock, maxAgeMs));
    }
    if (sources.processMetrics ?? true) {
      // getMetricsAsArray() hands out the metric objects themselves (typed as their JSON shape).
      for (const metric of sharedProcessMetrics().getMetricsAsArray()) this.registry.registerMetric(metric as unknown as Metric);
    }
  }

  /** The Content-Type of `scrape()`'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of every metric. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  /** A request answered (`route` is the route pattern, or UNMATCHED_ROUTE). */
  observeRequest(method: string, route: string, status: number, durationSeconds: number): void {
    const verb = methodLabel(method);
    this.requests.inc({ method: verb, route, status: String(status) });
    this.requestDuration.observe({ method: verb, route, status_class: statusClass(status) }, durationSeconds);
  }

  /** observeRequest() for one fixed (method, route, status): what the /users/me fast path reports with. */
  requestObserver(method: string, route: string, status: number): RequestObserver {
    return (durationSeconds) => this.observeRequest(method, route, status, durationSeconds);
  }

  /** An error a request ended with: counts the rate-limit refusals, and the refresh's outcome when it was one. */
  observeError(error: unknown, refreshGrant: boolean): void {
    const bucket = rateLimitBucketOf(error);
    if (bucket !== undefined) {
      this.rateLimited.inc({ bucket });
      if (bucket === 'login_throttle') this.logins.inc({ outcome: 'throttled' });
    }
    if (refreshGrant) this.refreshes.inc({ outcome: refreshFailureOutcome(error) });
  }

  observeRefreshSuccess(): void {
    this.refreshes.inc({ outcome: 'success' });
  }

  readonly observeAudit = (event: AuditEvent): void => {
    if (event.type === 'refresh.reuse_detected') {
      this.reuseDetected.inc();
      return;
    }
    const outcome = loginOutcomeOf(event);
    if (outcome !== undefined) this.logins.inc({ outcome });
  };

  /** Stops listening to the audit log and the hashing pool. */
  close(): void {
    for (const detach of this.detach.splice(0)) detach();
  }

  private watchHashLimiter(limiter: WorkLimiter): void {
    const registers = [this.registry];
    const waits = new Histogram({
      name: `${METRIC_PREFIX}hash_wait_seconds`,
      help: 'Time password hashes waited for a slot in the hashing pool (0 when one was free).',
      buckets: HASH_WAIT_BUCKETS_SECONDS,
      registers,
    });
    this.detach.push(limiter.observeWaits((waitMs) => waits.observe(waitMs / 1000)));
    new Gauge({
      name: `${METRIC_PREFIX}hash_queue_depth`,
      help: 'Password hashes waiting for a slot in the hashing pool.',
      registers,
      collect() {
        this.set(limiter.queued);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}hash_in_progress`,
      help: "Password hashes handed to the hashing threads (running, or next in a thread's queue).",
      registers,
      collect() {
        this.set(limiter.running);
      },
    });
    new Counter({
      name: `${METRIC_PREFIX}admission_rejected_total`,
      help: 'Password hashes refused by admission control (503): at_admission when the wait would be too long, timed_out after waiting HASH_MAX_WAIT_MS.',
      labelNames: ['reason'],
      registers,
      collect() {
        const { rejected, timedOut } = limiter.stats();
        this.reset();
        this.inc({ reason: 'at_admission' }, rejected - timedOut);
        this.inc({ reason: 'timed_out' }, timedOut);
      },
    });
  }

  private watchOutbox(stats: CachedValue<OutboxStats>): void {
    const gauge = (name: string, help: string, read: (stats: OutboxStats) => number) =>
      new Gauge({
        name: `${METRIC_PREFIX}${name}`,
        help,
        registers: [this.registry],
        // One outbox in one database, whichever worker counts it.
        aggregator: 'max',
        async collect() {
          const value = await stats.get();
          if (value === undefined) this.remove();
          else this.set(read(value));
        },
      });
    gauge('mail_queued', 'Mail messages in the outbox waiting to be sent (or being sent).', (value) => value.queued);
    gauge('mail_sent', 'Mail messages the outbox holds as sent (accepted by the SMTP server or webhook).', (value) => value.sent);
    gauge('mail_failed', 'Mail messages given up on (refused for good, or every attempt failed).', (value) => value.failed);
    gauge(
      'mail_oldest_queued_age_seconds',
      'Age of the oldest message waiting in the outbox (0 when none waits): grows while mail cannot be sent.',
      (value) => value.oldestQueuedAgeMs / 1000,
    );
  }

  private watchActiveSessions(count: CachedCount): void {
    new Gauge({
      name: `${METRIC_PREFIX}active_sessions`,
      help: 'Sessions neither revoked nor expired (counted at most every few seconds); no sample while the database does not answer.',
      registers: [this.registry],
      // Every worker of a cluster counts the same database: aggregated, one count is the answer, not their sum.
      aggregator: 'max',
      async collect() {
        const active = await count.get();
        // No sample is better than a stale one (reset() would say 0).
        if (active === undefined) this.remove();
        else this.set(active);
      },
    });
  }
}

let processRegistry: Registry | undefined;

/**
 * The process metrics, collected once per process and shared by every
 * registry: they describe the process, not a server, and prom-client's
 * collectors (event-loop monitor, GC observer) cannot be stopped once started.
 */
function sharedProcessMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: METRIC_PREFIX });
  }
  return processRegistry;
}
