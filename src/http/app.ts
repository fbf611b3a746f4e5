/**
 * buildApp(portcullis, options): the Fastify application. It never listens
 * (the CLI does), so tests can use it as they like. Its server-level settings
 * (trustProxy, timeouts, header limits, request ids, the request log) are the
 * standalone server's; what the routes themselves need is in
 * registerPortcullisPlugins and registerPortcullisRoutes, which the embedding
 * plugin (src/embed) applies to an encapsulated child of a host's app.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Portcullis } from '../core/portcullis.js';
import type { HttpConfig } from './settings.js';
import { handleClientError, registerErrorHandling } from './error-handler.js';
import { registerAuthentication } from './plugins/authenticate.js';
import { registerBodyParsers } from './plugins/body-parsers.js';
import { registerCors } from './plugins/cors.js';
import { registerOpenApi } from './plugins/openapi.js';
import { registerMetrics } from './metrics/metrics-plugin.js';
import type { PortcullisMetrics } from './metrics/portcullis-metrics.js';
import { registerSecurityHeaders } from './plugins/security-headers.js';
import { registerAdminRoutes } from './routes/admin-routes.js';
import { registerAdminMailRoutes } from './routes/admin-mail-routes.js';
import { registerAdminClientRoutes } from './routes/admin-client-routes.js';
import { registerHealthRoutes } from './routes/health-routes.js';
import { registerRevocationRoutes } from './routes/revocation-routes.js';
import { registerDiscoveryRoutes } from './routes/discovery-routes.js';
import { registerUserInfoRoutes } from './routes/userinfo-routes.js';
import { registerTokenRoutes } from './routes/token-routes.js';
import { registerUserRoutes } from './routes/user-routes.js';
import { registerFactorRoutes } from './routes/factor-routes.js';
import { registerMfaEnrolmentRoutes } from './routes/mfa-enrolment-routes.js';
import { registerPasswordResetRoutes } from './routes/password-reset-routes.js';
import { registerEmailVerificationRoutes } from './routes/email-verification-routes.js';
import { registerSignInLinkRoutes } from './routes/sign-in-link-routes.js';
import { registerPasskeyRoutes } from './routes/passkey-routes.js';
import { registerSharedSchemas } from './schemas/common-schemas.js';
import { USERS_ME_ROUTE, UsersMeFastPath } from './users-me-fast-path.js';
import { logsRequests, RequestLog } from './request-log.js';
import { createServer } from './node-http.js';
import { registerHostedPages } from './pages/hosted-pages.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The standalone server's GET /users/me fast path (see users-me-fast-path.ts). */
    readonly usersMeFastPath: UsersMeFastPath;
  }
}

export interface AppOptions {
  /** A pino logger; default: none. */
  readonly logger?: FastifyBaseLogger;
  /** Largest body any route accepts; routes set smaller limits of their own. */
  readonly bodyLimitBytes?: number;
  /** The server's metrics (METRICS=on); without them buildApp makes its own, without the hashing pool or session count. */
  readonly metrics?: PortcullisMetrics;
  /**
   * The HTTP layer's settings (http/settings.ts). Default: those of the config Portcullis was created
   * with, when it is a whole one (loadConfig's); otherwise buildApp throws a TypeError.
   */
  readonly http?: HttpConfig;
}

export async function buildApp(portcullis: Portcullis, options: AppOptions = {}): Promise<FastifyInstance> {
  const http = options.http ?? httpConfigOf(portcullis.config);
  // Below LOG_LEVEL=info nothing of the request log is written: then it costs nothing at all.
  const requestLog = options.logger && logsRequests(options.logger.level) ? new RequestLog(options.logger) : undefined;
  const fastPath = new UsersMeFastPath(portcullis, requestLog ? { requestLog } : {});
  const app = Fastify({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    bodyLimit: options.bodyLimitBytes ?? 64 * 1024,
    return503OnClosing: true,
    // request.ip: X-Forwarded-For is believed only from these proxies (TRUSTED_PROXIES); otherwise the socket's address.
    trustProxy: http.trustedProxies.length > 0 ? [...http.trustedProxies] : false,
    // Slow-client bounds: a client that dribbles its request costs a socket for seconds, not forever.
    connectionTimeout: http.requestTimeoutMs,
    requestTimeout: http.requestTimeoutMs,
    keepAliveTimeout: http.keepAliveTimeoutMs,
    http: {
      maxHeaderSize: http.maxHeaderBytes,
      headersTimeout: http.headersTimeoutMs,
      requestTimeout: http.requestTimeoutMs,
      // Node checks both timeouts only this often (default 30 s, which would stretch a 1 s bound to 30).
      connectionsCheckingInterval: Math.min(1_000, http.headersTimeoutMs / 4),
    },
    clientErrorHandler: handleClientError,
    // node:http as Fastify would make it (see its getServerInstance), with the /users/me fast path in front.
    serverFactory: (handler, settings) => {
      const server = createServer(settings.http ?? {}, (request: IncomingMessage, response: ServerResponse) => {
        if (!fastPath.handle(request, response)) handler(request, response);
      });
      server.keepAliveTimeout = http.keepAliveTimeoutMs;
      server.requestTimeout = http.requestTimeoutMs;
      server.setTimeout(http.requestTimeoutMs);
      return server;
    },
    routerOptions: { ignoreTrailingSlash: false, caseSensitive: true, maxParamLength: 200 },
    ajv: { customOptions: AJV_OPTIONS },
  });

  await registerPortcullisPlugins(app, portcullis, http);
  if (requestLog) registerRequestLog(app, requestLog);
  app.decorate('usersMeFastPath', fastPath);
  const metrics = registerMetrics(app, portcullis, http.metrics, options.metrics);
  fastPath.observe = metrics?.requestObserver('GET', USERS_ME_ROUTE, 200);

  // While shutting down, ask keep-alive clients to go, so close() need not wait for their idle sockets.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    fastPath.closing = true;
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  // After every other onSend hook: the fast path answers with what the route answered (users-me-fast-path.ts).
  app.addHook('onSend', (request, reply, payload, done) => {
    fastPath.learn(request, reply);
    done(null, payload);
  });

  // Before the routes: it documents the routes registered after it.
  await registerOpenApi(app, { defaultScopes: portcullis.config.defaultScopes, docs: http.docs });
  registerPortcullisRoutes(app, portcullis, http);
  // The standalone server's own pages (not the embedding plugin's: a host has its own).
  if (http.pages) await registerHostedPages(app, portcullis, { pages: http.pages, secureCookies: http.secureCookies });
  return app;
}

/**
 * How the routes' schemas are checked: no type coercion, unknown fields
 * refused rather than dropped, no defaults filled in (API.md's 400s depend on it).
 */
export const AJV_OPTIONS = Object.freeze({ coerceTypes: false, removeAdditional: false, allErrors: false, useDefaults: false });

/**
 * What the routes need before they are declared: the error table, headers, CORS, strict body
 * parsers, bearer authentication, and the schemas their own schemas refer to.
 */
export async function registerPortcullisPlugins(app: FastifyInstance, portcullis: Portcullis, http: HttpConfig): Promise<void> {
  registerErrorHandling(app);
  registerSecurityHeaders(app, { hsts: http.production });
  await registerCors(app, http.corsOrigins);
  registerBodyParsers(app);
  registerAuthentication(app, portcullis);
  registerSharedSchemas(app);
}

/** Every Portcullis route, at the instance's prefix. */
export function registerPortcullisRoutes(app: FastifyInstance, portcullis: Portcullis, http: HttpConfig): void {
  registerHealthRoutes(app, portcullis);
  registerDiscoveryRoutes(app, portcullis, { authorizationEndpoint: http.pages?.enabled === true });
  if (http.pages?.enabled === true) registerUserInfoRoutes(app, portcullis);
  registerTokenRoutes(app, portcullis, http);
  registerRevocationRoutes(app, portcullis);
  registerUserRoutes(app, portcullis);
  registerFactorRoutes(app, portcullis);
  registerMfaEnrolmentRoutes(app, portcullis);
  registerPasswordResetRoutes(app, portcullis);
  registerEmailVerificationRoutes(app, portcullis);
  registerSignInLinkRoutes(app, portcullis);
  registerPasskeyRoutes(app, portcullis);
  registerAdminRoutes(app, portcullis);
  registerAdminMailRoutes(app, portcullis);
  registerAdminClientRoutes(app, portcullis);
}

function registerRequestLog(app: FastifyInstance, requestLog: RequestLog): void {
  app.addHook('onResponse', (request, reply, done) => {
    // request.log binds the request id already.
    requestLog.record({}, request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime, request.log);
    done();
  });
  app.addHook('onClose', (_instance, done) => {
    requestLog.close();
    done();
  });
}

/** The HTTP settings of a config built by loadConfig (which holds every layer's); a TypeError for core's alone. */
function httpConfigOf(config: object): HttpConfig {
  if ('corsOrigins' in config && 'trustedProxies' in config && 'metrics' in config && 'docs' in config) return config as HttpConfig;
  throw new TypeError("buildApp: pass options.http (the config from loadConfig holds it): Portcullis's own config has no HTTP settings");
}
