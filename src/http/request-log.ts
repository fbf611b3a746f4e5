/**
 * The request log: one line per request at LOG_LEVEL=info (id, method, route, status, latency;
 * never headers, bodies or query strings). Its message is REQUEST_LOG_MESSAGE, which the CLI's
 * logger recognises to buffer these lines (src/cli/logger.ts).
 */
import type { FastifyInstance } from 'fastify';

export const REQUEST_LOG_MESSAGE = 'request';

const LEVELS_WITH_INFO: ReadonlySet<string> = new Set(['trace', 'debug', 'info']);

/** Whether a logger at this level writes request lines. */
export function logsRequests(level: string): boolean {
  return LEVELS_WITH_INFO.has(level);
}

export function registerRequestLog(app: FastifyInstance): void {
  // Below LOG_LEVEL=info the line would be dropped anyway: then the hook costs nothing at all.
  if (!logsRequests(app.log.level)) return;
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: reply.statusCode,
        latencyMs: Math.round(reply.elapsedTime * 100) / 100,
      },
      REQUEST_LOG_MESSAGE,
    );
    done();
  });
}
