/**
 * The request log line: one per answered request, with its id, method, route pattern, status and
 * latency; never headers, bodies or query strings. Written by the Fastify hook (app.ts) and by the
 * /users/me fast path alike.
 */
import type { FastifyBaseLogger } from 'fastify';

export const REQUEST_LOG_MESSAGE = 'request';

/** `bindings`: what the line carries before its fields (the request id, unless `log` already binds it). */
export function logRequest(log: FastifyBaseLogger, bindings: { readonly reqId?: string }, method: string, route: string, status: number, latencyMs: number): void {
  log.info({ ...bindings, method, route, status, latencyMs: Math.round(latencyMs * 100) / 100 }, REQUEST_LOG_MESSAGE);
}
