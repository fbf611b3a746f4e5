/** POST /token (RFC 6749 §4.3, §4.4, §6), POST /revoke (RFC 7009), POST /introspect (RFC 7662). */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Client } from '../../core/clients/client.js';
import { InvalidRequestError, UnsupportedGrantTypeError } from '../../core/errors.js';
import type { Portcullis, TokenTypeHint } from '../../core/portcullis.js';
import { parseScopeParameter } from '../../core/tokens/scopes.js';
import { clientCredentials } from '../plugins/client-auth.js';
import { deviceTokenOf, setDeviceCookie } from '../plugins/device-cookie.js';
import { rateLimit } from '../plugins/rate-limit.js';
import { actionContext } from '../plugins/request-context.js';
import { errorSchema } from '../schemas/user-schemas.js';
import {
  introspectionResponseSchema,
  revocationBodySchema,
  tokenBodySchema,
  tokenResponseSchema,
  type RevocationBody,
  type TokenBody,
} from '../schemas/token-schemas.js';

/** Enough for a 1024-character password percent-encoded, and little else. */
export const TOKEN_BODY_LIMIT_BYTES = 8 * 1024;

function requireField(body: TokenBody, name: 'username' | 'password' | 'refresh_token'): string {
  const value = body[name];
  if (value === undefined || value === '') throw new InvalidRequestError(`Missing required parameter: ${name}`);
  return value;
}

function requestedScopes(body: TokenBody): string[] | undefined {
  if (body.scope === undefined || body.scope === '') return undefined;
  const scopes = parseScopeParameter(body.scope);
  if (scopes === undefined) throw new InvalidRequestError('Malformed scope parameter');
  return scopes;
}

async function authenticatedClient(
  portcullis: Portcullis,
  request: FastifyRequest,
  body: TokenBody | RevocationBody,
): Promise<Client | undefined> {
  const credentials = clientCredentials(request, body);
  return credentials === undefined ? undefined : portcullis.authenticateClient(credentials, actionContext(request));
}

function tokenTypeHint(value: string | undefined): TokenTypeHint {
  // RFC 7009 §2.1 / RFC 7662 §2.1: an unknown hint is ignored, not an error.
  return value === 'access_token' || value === 'refresh_token' ? value : undefined;
}

async function noStore(_request: FastifyRequest, reply: FastifyReply): Promise<void> {
  // RFC 6749 §5.1: token responses, and their errors, are never cached.
  reply.header('cache-control', 'no-store');
  reply.header('pragma', 'no-cache');
}

/**
 * The account whose rate limit a /token request spends: the password grant's
 * username (the grant type may be left out, as in the guide), unless the
 * client is a device that has logged in as that account before.
 */
function passwordGrantUsername(portcullis: Portcullis): (request: FastifyRequest) => string | undefined {
  return (request) => {
    const body = (request.body ?? {}) as TokenBody;
    const grantType = body.grant_type === undefined || body.grant_type === '' ? 'password' : body.grant_type;
    if (grantType !== 'password' || body.username === undefined) return undefined;
    return portcullis.isKnownDevice(body.username, deviceTokenOf(request)) ? undefined : body.username;
  };
}

export function registerTokenRoutes(app: FastifyInstance, portcullis: Portcullis): void {
  app.post<{ Body: TokenBody }>(
    '/token',
    {
      bodyLimit: TOKEN_BODY_LIMIT_BYTES,
      config: { oauth: true },
      preHandler: rateLimit(portcullis, 'token', passwordGrantUsername(portcullis)),
      schema: {
        body: tokenBodySchema,
        response: { 200: tokenResponseSchema, '4xx': errorSchema, '5xx': errorSchema },
      },
      onSend: noStore,
    },
    async (request, reply) => {
      const body = request.body ?? {};
      const grantType = body.grant_type === undefined || body.grant_type === '' ? 'password' : body.grant_type;
      const context = actionContext(request);
      switch (grantType) {
        case 'password': {
          const username = requireField(body, 'username');
          const password = requireField(body, 'password');
          const scopes = requestedScopes(body);
          const client = await authenticatedClient(portcullis, request, body);
          const deviceToken = deviceTokenOf(request);
          const login = await portcullis.passwordLogin(
            { username, password, ...(scopes ? { scopes } : {}), ...(deviceToken ? { deviceToken } : {}) },
            client,
            context,
          );
          if (login.deviceToken !== undefined) setDeviceCookie(reply, login.deviceToken, portcullis.config.abuse.secureCookies);
          return login.tokens;
        }
        case 'refresh_token': {
          const refreshToken = requireField(body, 'refresh_token');
          const scopes = requestedScopes(body);
          const client = await authenticatedClient(portcullis, request, body);
          return portcullis.refreshGrant(refreshToken, scopes, client, context);
        }
        case 'client_credentials': {
          const scopes = requestedScopes(body);
          const client = await authenticatedClient(portcullis, request, body);
          return portcullis.clientCredentialsGrant(client, scopes, context);
        }
        default:
          throw new UnsupportedGrantTypeError(`Unsupported grant_type: ${grantType.slice(0, 64)}`);
      }
    },
  );

  app.post<{ Body: RevocationBody }>(
    '/revoke',
    {
      bodyLimit: TOKEN_BODY_LIMIT_BYTES,
      config: { oauth: true },
      preHandler: rateLimit(portcullis, 'revoke'),
      schema: { body: revocationBodySchema, response: { '4xx': errorSchema, '5xx': errorSchema } },
      onSend: noStore,
    },
    async (request, reply) => {
      const body = request.body ?? {};
      const client = await authenticatedClient(portcullis, request, body);
      const token = body.token;
      if (token === undefined || token === '') throw new InvalidRequestError('Missing required parameter: token');
      // token_type_hint is accepted and not needed: both token types are always tried (RFC 7009 §2.1).
      await portcullis.revokeToken(token, client, actionContext(request));
      // RFC 7009 §2.2: 200 whether or not there was anything to revoke.
      return reply.code(200).send();
    },
  );

  app.post<{ Body: RevocationBody }>(
    '/introspect',
    {
      bodyLimit: TOKEN_BODY_LIMIT_BYTES,
      config: { oauth: true },
      preHandler: rateLimit(portcullis, 'introspect'),
      schema: { body: revocationBodySchema, response: { 200: introspectionResponseSchema, '4xx': errorSchema, '5xx': errorSchema } },
      onSend: noStore,
    },
    async (request) => {
      const body = request.body ?? {};
      const client = await authenticatedClient(portcullis, request, body);
      const token = body.token;
      if (token === undefined || token === '') throw new InvalidRequestError('Missing required parameter: token');
      return portcullis.introspect(token, tokenTypeHint(body.token_type_hint), client);
    },
  );
}
