/**
 * Response headers for a JSON API, on every response (errors and 404s too):
 * nothing here is meant to be rendered, framed, sniffed or cached by a
 * browser. Routes that may be cached (JWKS, metadata) set their own
 * Cache-Control, which is kept. HSTS only in production, where the server
 * is expected behind TLS (browsers ignore it over plain HTTP anyway).
 */
import type { FastifyInstance } from 'fastify';

/** One year, the common preload-eligible value. */
const HSTS = 'max-age=31536000; includeSubDomains';

const ALWAYS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
});

export interface SecurityHeaderOptions {
  /** Adds Strict-Transport-Security. */
  readonly hsts: boolean;
}

export function registerSecurityHeaders(app: FastifyInstance, options: SecurityHeaderOptions): void {
  app.addHook('onSend', async (_request, reply) => {
    reply.headers(ALWAYS);
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    if (options.hsts) reply.header('strict-transport-security', HSTS);
  });
}
