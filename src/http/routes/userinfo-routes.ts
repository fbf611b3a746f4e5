/**
 * OpenID Connect's UserInfo endpoint (Core §5.3): GET or POST with the access token of a code flow
 * that asked for `openid`, in the Authorization header (RFC 6750 §2.1). Served with the
 * authorization endpoint (the hosted pages), the only way to such a token.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Portcullis } from '../../core/portcullis.js';
import { bearerSecurity, ERRORS, errorResponses, TAGS } from '../schemas/common-schemas.js';

const userInfoSchema = {
  type: 'object',
  required: ['sub'],
  properties: {
    sub: { type: 'string', description: "The user's id: stable, never reassigned (the ID token's `sub`)" },
    preferred_username: { type: 'string', description: '`profile` scope: the username' },
    name: { type: 'string', description: '`profile` scope: the full name, when the user has one' },
    updated_at: { type: 'integer', description: '`profile` scope: when the account last changed (seconds since the epoch)' },
    email: { type: 'string', description: '`email` scope: the address, when the user has one' },
    email_verified: { type: 'boolean', description: '`email` scope: whether the address is verified' },
  },
  additionalProperties: false,
} as const;

export function registerUserInfoRoutes(app: FastifyInstance, portcullis: Portcullis): void {
  const schema = (method: 'GET' | 'POST') => ({
    tags: [TAGS.discovery],
    security: bearerSecurity(),
    operationId: method === 'GET' ? 'userInfo' : 'userInfoPost',
    summary: `The signed-in user's OpenID Connect claims (${method})`,
    description:
      "OpenID Connect Core §5.3: the claims of the access token's user that its scopes ask for (`sub` always; `profile`: " +
      '`preferred_username`, `name`, `updated_at`; `email`: `email`, `email_verified`). The token must carry `openid` ' +
      '(a code flow that asked for it), else 403 `insufficient_scope`. Only with the hosted pages (`HOSTED_PAGES=on`).',
    response: {
      200: { ...userInfoSchema, description: 'The claims' },
      ...errorResponses({ 401: ERRORS.notAuthenticated, 403: "A service client's token, or one without the `openid` scope" }),
    },
  });
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store');
    return portcullis.userInfo(request.auth!);
  };
  app.get('/userinfo', { preHandler: app.requireAuth(), schema: schema('GET') }, handler);
  app.post('/userinfo', { preHandler: app.requireAuth(), schema: schema('POST') }, handler);
}
