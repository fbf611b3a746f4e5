/**
 * Stopping one serving process (a single `portcullis serve`, or one cluster
 * worker): no new connections, requests in flight are answered, then the
 * database closes. SHUTDOWN_TIMEOUT_SECONDS bounds it; past that the process
 * leaves with EXIT_FAILURE, since open connections would keep it alive.
 */
import type { Logger } from 'pino';
import type { PortcullisConfig } from '../config.js';
import { EXIT_FAILURE, EXIT_OK } from '../exit-codes.js';
import type { RunningServer } from '../start-server.js';

/** Resolves with the exit code. */
export function shutDownGracefully(
  server: RunningServer,
  config: PortcullisConfig,
  logger: Logger,
  signal: NodeJS.Signals,
): Promise<number> {
  logger.info({ signal }, 'shutting down: no new connections, finishing requests in flight');
  return new Promise<number>((resolve) => {
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; exiting');
      process.exit(EXIT_FAILURE);
    }, config.shutdownTimeoutMs);
    timer.unref();
    server.close().then(
      () => {
        clearTimeout(timer);
        logger.info('stopped');
        resolve(EXIT_OK);
      },
      (error: unknown) => {
        clearTimeout(timer);
        logger.error({ err: error }, 'error during shutdown');
        resolve(EXIT_FAILURE);
      },
    );
  });
}

/**
 * The first SIGTERM or SIGINT. Later ones are ignored rather than left to
 * their default (which would kill the process mid-shutdown): a worker gets
 * SIGINT from the terminal and SIGTERM from its primary for one Ctrl-C.
 */
export function firstStopSignal(): { readonly signal: Promise<NodeJS.Signals>; dispose(): void } {
  let onSignal!: (signal: NodeJS.Signals) => void;
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = resolve;
  });
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return {
    signal,
    dispose() {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    },
  };
}
