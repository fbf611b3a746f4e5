/**
 * One cluster worker of `portcullis serve --workers N`: serves HTTP on the
 * port the primary shares, with the rate limits and login backoff asked of
 * the primary (or Redis, with REDIS_URL), and tells the primary when it is
 * ready or why it could not start. Its log lines carry its pid, so which
 * worker answered a request can be told from the logs.
 */
import cluster from 'node:cluster';
import type { PortcullisConfig } from '../config.js';
import { EXIT_FAILURE } from '../exit-codes.js';
import { createLogger } from '../logger.js';
import { startServer, type RunningServer } from '../start-server.js';
import { describeStartupFailure } from '../startup-error.js';
import { LIFECYCLE_CHANNEL, type LifecycleMessage } from './cluster-messages.js';
import { firstStopSignal, shutDownGracefully } from './graceful-shutdown.js';
import { connectWorkerStores, primaryTransport } from './ipc-shared-state.js';

/** After reporting a failed start, the longest a worker waits for the primary to stop it. */
const FAILED_START_WAIT_MS = 5_000;

/** Serves until the primary (or the terminal) signals it; resolves with the exit code. */
export async function runWorker(config: PortcullisConfig): Promise<number> {
  const logger = createLogger(config.logLevel).child({ pid: process.pid, worker: cluster.worker?.id });
  // Listening from the start, so a stop asked for while starting is honoured once started, not fatal.
  const stop = firstStopSignal();
  const transport = primaryTransport();
  // A primary that is gone cannot be told; the worker's exit is then all there is to say.
  const tell = (message: LifecycleMessage) => transport.send(message).catch(() => undefined);
  // With Redis, the workers share state through it exactly as separate instances do.
  const stores = config.redisUrl === undefined ? connectWorkerStores(transport, logger) : undefined;
  let server: RunningServer;
  try {
    server = await startServer(config, logger, stores);
  } catch (error) {
    // The primary says why, once for all the workers; the stack is here, at debug level.
    const reason = describeStartupFailure(error, config.database);
    logger.debug({ err: error }, reason);
    await tell({ channel: LIFECYCLE_CHANNEL, event: 'failed', error: reason });
    // The primary reports the error and stops every worker; waiting for that keeps
    // this exit from racing (and hiding) the report.
    await Promise.race([stop.signal, delay(FAILED_START_WAIT_MS)]);
    leave(stores, stop);
    return EXIT_FAILURE;
  }
  await tell({ channel: LIFECYCLE_CHANNEL, event: 'ready', url: server.url });
  const code = await shutDownGracefully(server, config, logger, await stop.signal);
  leave(stores, stop);
  return code;
}

/**
 * Lets the process end: the IPC channel would keep it alive. Disconnecting
 * through cluster marks the exit as intended, so cluster does not turn it
 * into an immediate exit 0 (which would hide a failure's exit code).
 */
function leave(stores: { close(): void } | undefined, stop: { dispose(): void }): void {
  stores?.close();
  stop.dispose();
  cluster.worker?.disconnect();
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
