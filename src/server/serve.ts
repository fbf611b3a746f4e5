/**
 * What `portcullis serve` does once its arguments are parsed: configuration from the
 * environment, the logger, the start-up warnings, then one process or a workers cluster,
 * serving until SIGTERM or SIGINT.
 */
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import type { PortcullisConfig } from './config.js';
import { describeLookAlike } from '../core/setting-look-alikes.js';
import { createLogger } from './logger.js';
import { loadEnvConfig, type EnvConfig } from './config-from-env.js';
import { describeError, EXIT_FAILURE } from './exit-codes.js';
import type { RunningServer } from './start-server.js';
import { runPrimary } from './cluster/cluster-primary.js';
import { shutDownGracefully } from './cluster/graceful-shutdown.js';
import { describeStartupFailure, reportStartupFailure } from './startup-error.js';

export interface ServeOptions {
  /** `--workers N`: overrides WORKERS. */
  readonly workers?: number | undefined;
}

/**
 * Serves until SIGTERM or SIGINT, then shuts down gracefully. Resolves with the exit code.
 * WORKERS=1 is one process; more is a node:cluster primary with that many workers, and this
 * same command, re-run by cluster.fork() in each worker, takes the worker's part.
 */
export async function serve(options: ServeOptions = {}): Promise<number> {
  let config: PortcullisConfig;
  let lookAlikes: EnvConfig['lookAlikes'];
  try {
    // Through the environment, so that what depends on the worker count (HASH_CONCURRENCY's default) follows the flag too.
    const env = options.workers === undefined ? process.env : { ...process.env, WORKERS: String(options.workers) };
    ({ config, lookAlikes } = loadEnvConfig(env, { secretKeyRequired: true }));
  } catch (error) {
    console.error(`portcullis: ${describeError(error)}`);
    return EXIT_FAILURE;
  }
  // The HTTP server's modules (Fastify, the routes, their schemas) are loaded by the processes that
  // serve: a cluster's primary only forks and supervises, and loading them there cost every start
  // ~0.5 s of CPU on the two cores its workers start on.
  if (cluster.isWorker) return (await import('./cluster/cluster-worker.js')).runWorker(config);
  const logger = createLogger(config.logLevel);
  // Said once, by the process the operator started, not once per worker.
  for (const lookAlike of lookAlikes) {
    logger.warn({ variable: lookAlike.name, suggestion: lookAlike.suggestion }, describeLookAlike(lookAlike));
  }
  if (config.registration === 'open' && config.production) {
    logger.warn('REGISTRATION=open in production: anyone can create an account');
  }
  if (config.database.kind === 'sqlite' && config.sqliteSynchronous === 'normal') {
    logger.warn(
      'SQLITE_SYNCHRONOUS=normal: commits survive a crash of Portcullis, but the last ones may be lost on a power cut or OS crash',
    );
  }
  if (config.production && !process.env.ISSUER) {
    logger.warn(
      { issuer: config.issuer },
      'ISSUER is not set: tokens name this listening address as their issuer; set ISSUER to the public URL (the same on every instance)',
    );
  }
  if (!config.abuse.rateLimitsEnabled) {
    logger.warn('RATE_LIMITS=off: no rate limits and no login backoff; password guessing is limited only by hashing cost');
  }
  if (config.production && config.metrics.enabled && config.metrics.token === undefined && config.metrics.port === undefined) {
    logger.warn(
      '/metrics is served on the API port without METRICS_TOKEN: anyone who reaches the port can read operational data; set METRICS_TOKEN or METRICS_PORT (or METRICS=off)',
    );
  }
  if (config.workers > 1) return runPrimary(config, logger);
  return serveSingleProcess(config, logger);
}

async function serveSingleProcess(config: PortcullisConfig, logger: Logger): Promise<number> {
  let server: RunningServer;
  try {
    const { startServer } = await import('./start-server.js');
    server = await startServer(config, logger, undefined, { listenBeforeWarmUp: true });
  } catch (error) {
    reportStartupFailure(logger, error, describeStartupFailure(error, config.database));
    return EXIT_FAILURE;
  }
  logger.info(
    {
      url: server.url,
      database: config.database.kind,
      algorithm: config.algorithm,
      registration: config.registration,
      ...(server.metricsUrl === undefined ? {} : { metricsUrl: server.metricsUrl }),
    },
    `Portcullis listening on ${server.url}`,
  );
  const running = server;
  return new Promise<number>((resolve) => {
    // once: a second signal during the shutdown gets its default effect (ends the process at once).
    let stopping = false;
    const shutdown = (signal: NodeJS.Signals) => {
      stopping = true;
      resolve(shutDownGracefully(running, config, logger, signal));
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
    // Listening began before the warm-up hash: hashing that cannot start at all (a native module that
    // will not load) ends the process as a failed start would, rather than failing every login.
    // (Stopping while the warm-up runs ends its thread: that is no failure.)
    running.warmedUp.catch(async (error: unknown) => {
      if (stopping) return;
      stopping = true;
      process.off('SIGTERM', shutdown);
      process.off('SIGINT', shutdown);
      reportStartupFailure(logger, error, `could not start: password hashing failed: ${describeError(error)}`);
      await shutDownGracefully(running, config, logger, 'SIGTERM');
      resolve(EXIT_FAILURE);
    });
  });
}
