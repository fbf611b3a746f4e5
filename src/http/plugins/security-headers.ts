/**
 * Response headers for a JSON API, on every response (errors and 404s too):
 * nothing here is meant to be rendered, framed, sniffed or cached by a
 * browser. Routes that may be cached (JWKS, metadata) set their own
 * Cache-Control, which is kept. HSTS only in production, where the server
 * is expected behind TLS (browsers ignore it over plain HTTP anyway).
 */
import type { FastifyInstance } from 'fastify';

/** One year, the common preload-eligible value. */
export const HSTS_HEADER = 'max-age=31536000; includeSubDomains';

export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
});

/**
 * The one exception: the interactive docs (/docs, Swagger UI from the npm
 * package) are a page, so they may load their own scripts, styles, images
 * (and the data: URIs of Swagger UI's icons) and call this server. Nothing
 * inline, nothing from elsewhere, still never framed. Set by the docs routes
 * only (src/http/plugins/openapi.ts), after the headers above.
 */
export const DOCS_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface SecurityHeaderOptions {
  /** Adds Strict-Transport-Security. */
  readonly hsts: boolean;
}

export function registerSecurityHeaders(app: FastifyInstance, options: SecurityHeaderOptions): void {
  // A callback hook, not an async one: no promise per response on the hot path.
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.headers(SECURITY_HEADERS);
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    if (options.hsts) reply.header('strict-transport-security', HSTS_HEADER);
    done(null, payload);
  });
}
