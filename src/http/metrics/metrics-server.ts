/**
 * /metrics on a port of its own (METRICS_PORT), for a scraper on a private
 * network while the API port is public: a tiny Fastify instance with the same
 * route, error answers and response headers as the API.
 */
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import { registerErrorHandling } from '../error-handler.js';
import { registerSecurityHeaders } from '../plugins/security-headers.js';
import { METRICS_PATH, registerMetricsRoute, type MetricsEndpoint } from '../routes/metrics-routes.js';

export interface MetricsServerOptions {
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
  readonly token: string | undefined;
  readonly endpoint: MetricsEndpoint;
  readonly logger?: FastifyBaseLogger | undefined;
}

export interface MetricsServer {
  /** Where Prometheus scrapes, e.g. http://127.0.0.1:9464/metrics. */
  readonly url: string;
  close(): Promise<void>;
}

/** A scrape is small; a client that takes longer than this over it is not a scraper. */
const REQUEST_TIMEOUT_MS = 10_000;

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const app = Fastify({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    connectionTimeout: REQUEST_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    bodyLimit: 1024,
  });
  registerErrorHandling(app);
  registerSecurityHeaders(app, { hsts: false });
  registerMetricsRoute(app, options.endpoint, options.token);
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return { url: `http://${host}:${port}${METRICS_PATH}`, close: () => app.close() };
}
