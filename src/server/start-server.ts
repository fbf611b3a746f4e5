/**
 * The standalone server: the composition that the library shares
 * (server/compose-portcullis.ts: storage, hasher, Redis, core, key housekeeping)
 * behind the HTTP app, listening. Used by `portcullis serve` and by the
 * end-to-end tests, so both start it the same way.
 */
import cluster from 'node:cluster';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Clock } from '../core/clock.js';
import type { PortcullisConfig } from './config.js';
import type { WorkLimiter } from '../core/passwords/work-limiter.js';
import type { Portcullis } from '../core/portcullis.js';
import type { LoginAttemptStore } from '../core/ports.js';
import { composePortcullis, type SharedAbuseState } from './compose-portcullis.js';
import { buildApp } from '../http/app.js';
import { PortcullisMetrics } from '../http/metrics/portcullis-metrics.js';
import { startMetricsServer, type MetricsServer } from '../http/metrics/metrics-server.js';
import type { SqlStorage } from '../storage/sql/open-storage.js';
import type { MailChannel } from '../mail/open-mail.js';
import type { LogoutRelay } from '../core/logout/logout-relay.js';
import { shareMetricsWithPrimary } from './cluster/cluster-metrics.js';

export type { SharedAbuseState } from './compose-portcullis.js';

export interface RunningServer {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly portcullis: Portcullis;
  readonly storage: SqlStorage;
  /** The hashing pool's admission control; its stats() are the counters for metrics. */
  readonly hashLimiter: WorkLimiter;
  /** The login backoff's bookkeeping (in-process, or Redis with an in-process fallback). */
  readonly loginAttempts: LoginAttemptStore;
  /** The mail channel: its relay's events and `drained()` let a test in this process wait for the mail it caused. */
  readonly mail: MailChannel;
  /** The relay of back-channel logout tokens: its events and `drained()` let a test wait for the tokens it caused. */
  readonly logoutRelay: LogoutRelay;
  /** The Prometheus metrics (METRICS=on), served at /metrics, or on METRICS_PORT at `metricsUrl`. */
  readonly metrics: PortcullisMetrics | undefined;
  /** Where /metrics is served when METRICS_PORT is set (by the primary, in a cluster worker: undefined). */
  readonly metricsUrl: string | undefined;
  /** Settles once the warm-up hash is done (already, unless `listenBeforeWarmUp`); rejects if hashing cannot start. */
  readonly warmedUp: Promise<void>;
  /** Stops accepting, lets in-flight requests finish, closes the database. */
  close(): Promise<void>;
}

export interface StartOptions {
  /**
   * Start the hashing threads and their warm-up hash only once listening (their boot and first hash
   * take ~100 ms of CPU, which on a 2-core machine the start-up would otherwise share): `portcullis
   * serve` answers sooner, and a login that comes meanwhile waits for the threads like any queued
   * hash. The caller must then watch `warmedUp`, which rejects when the threads cannot hash at all.
   * Default: the warm-up runs while the app is built, and listening waits for it.
   */
  readonly listenBeforeWarmUp?: boolean;
  /** The time the server goes by (core, in-process rate limits); default the system clock. For tests. */
  readonly clock?: Clock;
}

export async function startServer(
  config: PortcullisConfig,
  logger?: FastifyBaseLogger,
  shared?: SharedAbuseState,
  options: StartOptions = {},
): Promise<RunningServer> {
  let log: FastifyBaseLogger | undefined = logger;
  const composed = await composePortcullis(config, {
    log: () => log,
    shared,
    deferWarmUp: true,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const { portcullis, storage, hashLimiter } = composed;
  try {
    const metrics = config.metrics.enabled
      ? new PortcullisMetrics({ audit: portcullis.audit, hashLimiter, sessions: storage.sessions, outbox: storage.outbox })
      : undefined;
    // In a cluster worker, the primary serves METRICS_PORT with every worker's metrics (cluster-metrics.ts).
    if (metrics && cluster.isWorker) shareMetricsWithPrimary(metrics);
    // By default the warm-up hash runs (on the hashing threads) while the HTTP app is built, and
    // listening waits for it; else it starts once listening. warmUp() starts it once, then returns it.
    if (!options.listenBeforeWarmUp) composed.warmUp().catch(() => undefined); // awaited below
    const app = await buildApp(portcullis, { http: config, ...(logger ? { logger } : {}), ...(metrics ? { metrics } : {}) });
    log = app.log;
    if (!options.listenBeforeWarmUp) await composed.warmUp();
    await app.listen({ host: config.host, port: config.port });
    const warmedUp = composed.warmUp();
    warmedUp.catch(() => undefined); // the caller's to watch (RunningServer.warmedUp)
    let metricsServer: MetricsServer | undefined;
    if (metrics && config.metrics.port !== undefined && !cluster.isWorker) {
      metricsServer = await startMetricsServer({
        host: config.host,
        port: config.metrics.port,
        token: config.metrics.token,
        endpoint: metrics,
        logger: app.log,
      }).catch(async (error: unknown) => {
        await app.close();
        throw error;
      });
    }
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    let closing: Promise<void> | undefined;
    return {
      url: `http://${host}:${port}`,
      app,
      portcullis,
      storage,
      hashLimiter,
      loginAttempts: composed.loginAttempts,
      mail: composed.mail,
      logoutRelay: composed.logoutRelay,
      metrics,
      metricsUrl: metricsServer?.url,
      warmedUp,
      close() {
        closing ??= Promise.all([app.close(), metricsServer?.close()])
          .then(() => metrics?.close())
          .then(() => composed.close());
        return closing;
      },
    };
  } catch (error) {
    await composed.close().catch(() => undefined);
    throw error;
  }
}
