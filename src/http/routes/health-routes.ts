import type { FastifyInstance } from 'fastify';
import type { Portcullis } from '../../core/portcullis.js';

const statusSchema = { type: 'object', properties: { status: { type: 'string' } } } as const;

export function registerHealthRoutes(app: FastifyInstance, portcullis: Portcullis): void {
  /** Liveness: the process answers. */
  app.get('/healthz', { schema: { response: { 200: statusSchema } } }, async () => ({ status: 'ok' }));

  /** Readiness: storage answers too. A failure maps to 503 through the error table. */
  app.get('/readyz', { schema: { response: { 200: statusSchema } } }, async () => {
    await portcullis.ready();
    return { status: 'ready' };
  });
}
