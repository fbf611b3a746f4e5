/**
 * GET /revocations: the revocation feed that resource servers poll (the
 * verifier library's `revocations` option), so that a logged-out session's
 * access tokens are refused there within seconds rather than at their `exp`.
 * Service clients only, as for /introspect: session ids are not credentials,
 * but the feed tells who logs out when, and how many.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Client } from '../../core/clients/client.js';
import { InvalidClientError } from '../../core/errors.js';
import type { Portcullis } from '../../core/portcullis.js';
import { clientCredentials } from '../plugins/client-auth.js';
import { actionContext } from '../plugins/request-context.js';
import { clientSecurity, ERRORS, errorResponses, TAGS } from '../schemas/common-schemas.js';
import { revocationFeedQuerySchema, revocationFeedSchema, type RevocationFeedQuery } from '../schemas/revocation-schemas.js';

/**
 * The client of the request (HTTP Basic). Only failures spend the client
 * address's rate limit: resource servers poll every few seconds, several
 * behind one address, while a guessed secret is refused with 429 like
 * elsewhere once the address has spent its bucket.
 */
async function feedClient(portcullis: Portcullis, request: FastifyRequest): Promise<Client> {
  const context = actionContext(request);
  try {
    const credentials = clientCredentials(request, undefined);
    if (credentials === undefined) throw new InvalidClientError('Client authentication is required for the revocation feed');
    return await portcullis.authenticateClient(credentials, context);
  } catch (error) {
    if (error instanceof InvalidClientError) await portcullis.rateLimits.check({ action: 'revocations' }, context);
    throw error;
  }
}

async function noStore(_request: FastifyRequest, reply: FastifyReply): Promise<void> {
  reply.header('cache-control', 'no-store');
}

export function registerRevocationRoutes(app: FastifyInstance, portcullis: Portcullis): void {
  app.get<{ Querystring: RevocationFeedQuery }>(
    '/revocations',
    {
      schema: {
        tags: [TAGS.oauth],
        operationId: 'revocationFeed',
        summary: 'Revoked sessions, for resource servers',
        description:
          'The sessions revoked since `since` (a `cursor` of an earlier answer; absent: all of them) whose access tokens may ' +
          'still be alive: logouts, session deletions, refresh-token reuse, disabled or removed users, password changes. ' +
          'A resource server that verifies tokens itself refuses a token whose `sid` is listed. Needs a service client (HTTP Basic).',
        security: clientSecurity,
        querystring: revocationFeedQuerySchema,
        response: {
          200: { ...revocationFeedSchema, description: 'A page of the feed; `more`: ask again at once with `cursor`' },
          ...errorResponses({
            400: 'A malformed `since` or `limit`',
            401: 'Client authentication failed or missing (`WWW-Authenticate: Basic`)',
            429: ERRORS.rateLimited,
          }),
        },
      },
      onSend: noStore,
    },
    async (request) => {
      const client = await feedClient(portcullis, request);
      return portcullis.revocationFeed(request.query.since, request.query.limit, client);
    },
  );
}
