/**
 * CORS, off unless origins are configured (CORS_ORIGINS). Only an origin on
 * the list, compared exactly, gets any CORS header; any other origin (and a
 * request without Origin) gets none, preflight included, so a browser page
 * elsewhere can neither call the API nor read its answers.
 *
 * No credentials: the API authenticates with the Authorization header, which
 * a cross-origin caller sends itself; allowing credentials would only let
 * cookies ride along on cross-origin requests, which nothing here needs.
 */
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
const ALLOWED_HEADERS = ['Authorization', 'Content-Type'];
/** Response headers a browser client needs to read: when to retry, and why a token was refused. */
const EXPOSED_HEADERS = [
  'Retry-After',
  'WWW-Authenticate',
  'RateLimit',
  'RateLimit-Policy',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
];
const PREFLIGHT_MAX_AGE_SECONDS = 600;

export async function registerCors(app: FastifyInstance, allowedOrigins: readonly string[]): Promise<void> {
  if (allowedOrigins.length === 0) return;
  const allowed = new Set(allowedOrigins);
  await app.register(cors, {
    // false (not a mismatching header) for other origins: @fastify/cors then adds nothing and answers no preflight.
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin) ? origin : false),
    methods: METHODS,
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    credentials: false,
    maxAge: PREFLIGHT_MAX_AGE_SECONDS,
  });
}
