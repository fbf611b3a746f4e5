/**
 * The primary of `portcullis serve --workers N` (N > 1). It serves no HTTP:
 * it does the one-time start-up work (migrations, first signing keys) before
 * any worker exists, holds the rate limits and login backoff that the workers
 * share (unless Redis does), and supervises the workers.
 */
import type { Logger } from 'pino';
import type { PortcullisConfig } from '../config.js';
import { EXIT_FAILURE } from '../exit-codes.js';
import { describeStartupFailure, reportStartupFailure } from '../startup-error.js';
import { serveClusterMetrics } from './cluster-metrics.js';
import { servePrimaryStores } from './ipc-shared-state.js';
import { prepareStorage } from './storage-bootstrap.js';
import { WorkerSupervisor } from './worker-supervisor.js';

/** Resolves with the exit code once every worker has exited. */
export async function runPrimary(config: PortcullisConfig, logger: Logger): Promise<number> {
  const log = logger.child({ pid: process.pid, role: 'primary' });
  let stopMetrics: () => Promise<void>;
  try {
    await prepareStorage(config);
    stopMetrics = await serveClusterMetrics(config, log);
  } catch (error) {
    reportStartupFailure(log, error, describeStartupFailure(error, config.database));
    return EXIT_FAILURE;
  }
  log.info({ workers: config.workers }, 'database migrated and signing keys in place; starting the workers');
  const stopServingStores = config.redisUrl === undefined ? servePrimaryStores(log) : () => undefined;
  try {
    return await new WorkerSupervisor(config, log).run();
  } finally {
    stopServingStores();
    await stopMetrics();
  }
}
