/**
 * GET /metrics: the Prometheus text exposition. With METRICS_TOKEN it needs
 * `Authorization: Bearer <token>`, compared in constant time (as hashes); the
 * 401s are the error table's, as for any bearer route.
 */
import type { FastifyInstance } from 'fastify';
// Its typings add `hide` (and `tags`) to route schemas.
import type {} from '@fastify/swagger';
import { InvalidTokenError, NotAuthenticatedError } from '../../core/errors.js';
import { hashSecret, secretMatches } from '../../core/secrets.js';
import { bearerToken } from '../plugins/authenticate.js';

export const METRICS_PATH = '/metrics';

/** What the route serves: one registry, or the primary's aggregate of its workers' registries. */
export interface MetricsEndpoint {
  readonly contentType: string;
  scrape(): Promise<string>;
}

export function registerMetricsRoute(app: FastifyInstance, endpoint: MetricsEndpoint, token: string | undefined): void {
  const expectedHash = token === undefined ? undefined : hashSecret(token);
  // Operational, not part of the API: kept out of the OpenAPI document.
  app.get(METRICS_PATH, { schema: { hide: true } }, async (request, reply) => {
    if (expectedHash !== undefined) {
      const presented = bearerToken(request);
      if (presented === undefined) throw new NotAuthenticatedError();
      if (!secretMatches(presented, expectedHash)) throw new InvalidTokenError();
    }
    const text = await endpoint.scrape();
    return reply.type(endpoint.contentType).send(text);
  });
}
