import type { FastifyInstance } from 'fastify';
import type { Portcullis } from '../../core/portcullis.js';
import { errorResponses, TAGS } from '../schemas/common-schemas.js';

const statusSchema = { type: 'object', properties: { status: { type: 'string' } } } as const;

export function registerHealthRoutes(app: FastifyInstance, portcullis: Portcullis): void {
  /** Liveness: the process answers. */
  app.get(
    '/healthz',
    {
      schema: {
        tags: [TAGS.health],
        operationId: 'healthz',
        summary: 'Liveness',
        description: '200 `{"status": "ok"}` while the process runs.',
        response: { 200: { ...statusSchema, description: 'The process is up' }, ...errorResponses() },
      },
    },
    async () => ({ status: 'ok' }),
  );

  /** Readiness: storage answers too. A failure maps to 503 through the error table. */
  app.get(
    '/readyz',
    {
      schema: {
        tags: [TAGS.health],
        operationId: 'readyz',
        summary: 'Readiness',
        description: '200 `{"status": "ready"}` when the database answers, else 503.',
        response: {
          200: { ...statusSchema, description: 'Storage answers' },
          ...errorResponses({ 503: 'Storage unreachable (`Retry-After`)' }),
        },
      },
    },
    async () => {
      await portcullis.ready();
      return { status: 'ready' };
    },
  );
}
