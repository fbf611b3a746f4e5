import type { FastifyInstance } from 'fastify';
import { InvalidRequestError, UnsupportedGrantTypeError } from '../../core/errors.js';
import type { Portcullis } from '../../core/portcullis.js';
import { parseScopeParameter } from '../../core/tokens/scopes.js';
import { errorSchema } from '../schemas/user-schemas.js';
import { tokenBodySchema, tokenResponseSchema, type TokenBody } from '../schemas/token-schemas.js';

/** Enough for a 1024-character password percent-encoded, and little else. */
export const TOKEN_BODY_LIMIT_BYTES = 8 * 1024;

function requireField(body: TokenBody, name: 'username' | 'password'): string {
  const value = body[name];
  if (value === undefined || value === '') throw new InvalidRequestError(`Missing required parameter: ${name}`);
  return value;
}

export function registerTokenRoutes(app: FastifyInstance, portcullis: Portcullis): void {
  app.post<{ Body: TokenBody }>(
    '/token',
    {
      bodyLimit: TOKEN_BODY_LIMIT_BYTES,
      config: { oauth: true },
      schema: {
        body: tokenBodySchema,
        response: { 200: tokenResponseSchema, '4xx': errorSchema, '5xx': errorSchema },
      },
      onSend: async (_request, reply) => {
        // RFC 6749 §5.1: token responses, and their errors, are never cached.
        reply.header('cache-control', 'no-store');
        reply.header('pragma', 'no-cache');
      },
    },
    async (request) => {
      const body = request.body ?? {};
      const grantType = body.grant_type === undefined || body.grant_type === '' ? 'password' : body.grant_type;
      if (grantType !== 'password') throw new UnsupportedGrantTypeError(`Unsupported grant_type: ${grantType.slice(0, 64)}`);
      const username = requireField(body, 'username');
      const password = requireField(body, 'password');
      let scopes: string[] | undefined;
      if (body.scope !== undefined && body.scope !== '') {
        scopes = parseScopeParameter(body.scope);
        if (scopes === undefined) throw new InvalidRequestError('Malformed scope parameter');
      }
      return portcullis.passwordGrant({ username, password, ...(scopes ? { scopes } : {}) });
    },
  );
}
