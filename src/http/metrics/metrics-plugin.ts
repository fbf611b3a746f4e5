/**
 * The HTTP side of the metrics: a hook that counts and times every answered
 * request by route pattern (never the raw URL; "unmatched" for a 404 no
 * route matched), a hook that sees the errors requests end with (rate-limit
 * refusals, refresh outcomes), and GET /metrics itself unless METRICS_PORT
 * serves it elsewhere. Returns the metrics in use (undefined with
 * METRICS=off). Scrapes of /metrics are not counted: they would only
 * measure the scraper.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { MetricsSettings } from '../settings.js';
import type { Portcullis } from '../../core/portcullis.js';
import { METRICS_PATH, registerMetricsRoute } from '../routes/metrics-routes.js';
import { grantTypeOf, UNMATCHED_ROUTE } from './metric-labels.js';
import { PortcullisMetrics } from './portcullis-metrics.js';

/**
 * With METRICS=on: `metrics` is the server's (with the hashing pool and the
 * session count, see server/start-server.ts); without it, one is made here that counts
 * requests, logins and refreshes, and is closed with the app.
 */
export function registerMetrics(
  app: FastifyInstance,
  portcullis: Portcullis,
  settings: MetricsSettings,
  metrics: PortcullisMetrics | undefined,
): PortcullisMetrics | undefined {
  if (!settings.enabled) return undefined;
  let used = metrics;
  if (used === undefined) {
    const own = new PortcullisMetrics({ audit: portcullis.audit });
    app.addHook('onClose', (_instance, done) => {
      own.close();
      done();
    });
    used = own;
  }
  const observed = used;
  // Callback hooks: no promise per request.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    if (route !== METRICS_PATH) {
      observed.observeRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
      if (reply.statusCode < 400 && isRefreshGrant(request)) observed.observeRefreshSuccess();
    }
    done();
  });
  app.addHook('onError', (request, _reply, error, done) => {
    observed.observeError(error, isRefreshGrant(request));
    done();
  });
  if (settings.port === undefined) registerMetricsRoute(app, observed, settings.token);
  return observed;
}

function isRefreshGrant(request: FastifyRequest): boolean {
  return request.method === 'POST' && request.routeOptions.url === '/token' && grantTypeOf(request.body) === 'refresh_token';
}
