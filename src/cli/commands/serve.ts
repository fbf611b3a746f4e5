import { createLogger } from '../logger.js';
import { configFromEnv, describeError, EXIT_FAILURE, EXIT_OK } from '../context.js';
import { startServer } from '../server.js';

/** Serves until SIGTERM or SIGINT, then shuts down gracefully. Resolves with the exit code. */
export async function serveCommand(): Promise<number> {
  let config;
  try {
    config = configFromEnv(process.env, { secretKeyRequired: true });
  } catch (error) {
    console.error(`portcullis: ${describeError(error)}`);
    return EXIT_FAILURE;
  }
  const logger = createLogger(config.logLevel);
  if (config.registration === 'open' && config.production) {
    logger.warn('REGISTRATION=open in production: anyone can create an account');
  }
  if (!config.abuse.rateLimitsEnabled) {
    logger.warn('RATE_LIMITS=off: no rate limits and no login backoff; password guessing is limited only by hashing cost');
  }
  let server;
  try {
    server = await startServer(config, logger);
  } catch (error) {
    logger.fatal({ err: error }, 'could not start');
    // Also for a person reading the terminal, and when LOG_LEVEL=silent.
    console.error(`portcullis: could not start: ${describeError(error)}`);
    return EXIT_FAILURE;
  }
  logger.info(
    { url: server.url, database: config.database.kind, algorithm: config.algorithm, registration: config.registration },
    `Portcullis listening on ${server.url}`,
  );

  const running = server;
  return new Promise<number>((resolve) => {
    const shutdown = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'shutting down: no new connections, finishing requests in flight');
      const timer = setTimeout(() => {
        logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; exiting');
        // Connections still open would keep the process alive: leave now.
        process.exit(EXIT_FAILURE);
      }, config.shutdownTimeoutMs);
      timer.unref();
      running.close().then(
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
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
  });
}
