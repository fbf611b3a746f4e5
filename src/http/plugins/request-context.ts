import type { FastifyRequest } from 'fastify';
import type { ActionContext } from '../../core/action-context.js';

/** Who acts and from where, for the audit log: the authenticated principal if any, the client IP and user agent. */
export function actionContext(request: FastifyRequest): ActionContext {
  const auth = request.auth;
  const actor = auth === undefined ? 'anonymous' : auth.kind === 'user' ? auth.user.username : `client:${auth.client.id}`;
  const userAgent = request.headers['user-agent'];
  return { actor, ip: request.ip, userAgent: typeof userAgent === 'string' ? userAgent : null };
}
