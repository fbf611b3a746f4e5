/**
 * buildApp(portcullis, options): the Fastify application. It never listens
 * (the CLI does), so tests and embedding hosts can use it as they like.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Portcullis } from '../core/portcullis.js';
import { handleClientError, registerErrorHandling } from './error-handler.js';
import { registerAuthentication } from './plugins/authenticate.js';
import { registerBodyParsers } from './plugins/body-parsers.js';
import { registerCors } from './plugins/cors.js';
import { registerSecurityHeaders } from './plugins/security-headers.js';
import { registerAdminRoutes } from './routes/admin-routes.js';
import { registerHealthRoutes } from './routes/health-routes.js';
import { registerDiscoveryRoutes } from './routes/discovery-routes.js';
import { registerTokenRoutes } from './routes/token-routes.js';
import { registerUserRoutes } from './routes/user-routes.js';

export interface AppOptions {
  /** A pino logger; default: none. */
  readonly logger?: FastifyBaseLogger;
  /** Largest body any route accepts; routes set smaller limits of their own. */
  readonly bodyLimitBytes?: number;
}

export async function buildApp(portcullis: Portcullis, options: AppOptions = {}): Promise<FastifyInstance> {
  const limits = portcullis.config.abuse;
  const app = Fastify({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    bodyLimit: options.bodyLimitBytes ?? 64 * 1024,
    return503OnClosing: true,
    // request.ip: X-Forwarded-For is believed only from these proxies (TRUSTED_PROXIES); otherwise the socket's address.
    trustProxy: portcullis.config.abuse.trustedProxies.length > 0 ? [...portcullis.config.abuse.trustedProxies] : false,
    // Slow-client bounds: a client that dribbles its request costs a socket for seconds, not forever.
    connectionTimeout: limits.requestTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // Node checks both timeouts only this often (default 30 s, which would stretch a 1 s bound to 30).
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs / 4),
    },
    clientErrorHandler: handleClientError,
    routerOptions: { ignoreTrailingSlash: false, caseSensitive: true, maxParamLength: 200 },
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, useDefaults: false } },
  });

  registerErrorHandling(app);
  registerSecurityHeaders(app, { hsts: portcullis.config.production });
  await registerCors(app, limits.corsOrigins);
  registerBodyParsers(app);
  registerAuthentication(app, portcullis);
  registerRequestLog(app);

  // While shutting down, ask keep-alive clients to go, so close() need not wait for their idle sockets.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  registerHealthRoutes(app, portcullis);
  registerDiscoveryRoutes(app, portcullis);
  registerTokenRoutes(app, portcullis);
  registerUserRoutes(app, portcullis);
  registerAdminRoutes(app, portcullis);
  return app;
}

/** One line per request: id, method, route, status, latency. Never headers, bodies or query strings. */
function registerRequestLog(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: reply.statusCode,
        latencyMs: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request',
    );
  });
}
