/**
 * The admin API's OAuth clients: register a service client or a web app of the authorization
 * code flow, list, change and remove them. The same core methods as `portcullis clients`; each
 * change is audited with the admin as the actor. A confidential client's secret is in the answer
 * of its creation only.
 */
import type { FastifyInstance } from 'fastify';
import type { ClientChange } from '../../core/clients/client-service.js';
import { toPublicClient } from '../../core/clients/client.js';
import type { Portcullis } from '../../core/portcullis.js';
import { actionContext } from '../plugins/request-context.js';
import {
  clientListSchema,
  clientParamsSchema,
  createClientBodySchema,
  createdClientSchema,
  publicClientSchema,
  updateClientBodySchema,
  type ClientParams,
  type CreateClientBody,
  type UpdateClientBody,
} from '../schemas/client-schemas.js';
import { ERRORS, errorResponses, noContentSchema } from '../schemas/common-schemas.js';
import { ADMIN_BODY_LIMIT_BYTES, ADMIN_ERRORS, ADMIN_SCHEMA, adminGuards } from './admin-routes.js';

const invalid = {
  400: `${ERRORS.invalidRequest}; a redirect URI that cannot be registered, or grants that do not go together (\`ERR_VALIDATION\`)`,
};
const notFound = { 404: 'No client of that name or id' };
const bodyErrors = { 413: ERRORS.tooLarge, 415: ERRORS.mediaType };

function changeOf(body: UpdateClientBody): ClientChange {
  return {
    ...(body.scopes === undefined ? {} : { scopes: body.scopes }),
    ...(body.redirect_uris === undefined ? {} : { redirectUris: body.redirect_uris }),
    ...(body.grant_types === undefined ? {} : { grantTypes: body.grant_types }),
    ...(body.first_party === undefined ? {} : { firstParty: body.first_party }),
    ...(body.post_logout_redirect_uris === undefined ? {} : { postLogoutRedirectUris: body.post_logout_redirect_uris }),
    ...(body.backchannel_logout_uri === undefined ? {} : { backchannelLogoutUri: body.backchannel_logout_uri }),
  };
}

export function registerAdminClientRoutes(app: FastifyInstance, portcullis: Portcullis): void {
  const guarded = adminGuards(app);
  const { clients } = portcullis;
  const actor = (request: Parameters<typeof actionContext>[0]) => actionContext(request).actor;

  app.get(
    '/admin/clients',
    {
      ...guarded,
      schema: {
        ...ADMIN_SCHEMA,
        operationId: 'adminListClients',
        summary: 'List OAuth clients',
        description: 'Every client by name; never a secret or its hash.',
        response: { 200: { ...clientListSchema, description: 'The clients' }, ...errorResponses(ADMIN_ERRORS) },
      },
    },
    async () => ({ clients: (await clients.list()).map(toPublicClient) }),
  );

  app.post<{ Body: CreateClientBody }>(
    '/admin/clients',
    {
      ...guarded,
      bodyLimit: ADMIN_BODY_LIMIT_BYTES,
      schema: {
        ...ADMIN_SCHEMA,
        operationId: 'adminCreateClient',
        summary: 'Register an OAuth client',
        description:
          'A confidential client (default) gets a `client_secret`, shown in this answer only; a `public` one has none and ' +
          'may only use the authorization code grant with PKCE. `redirect_uris` are compared as exact strings.',
        body: createClientBodySchema,
        response: {
          201: { ...createdClientSchema, description: 'The new client' },
          ...errorResponses({ ...invalid, ...ADMIN_ERRORS, 409: 'Client name already registered', ...bodyErrors }),
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const { client, secret } = await clients.register(
        body.name,
        { ...changeOf(body), ...(body.type === undefined ? {} : { type: body.type }) },
        actor(request),
      );
      return reply.code(201).send({ ...toPublicClient(client), ...(secret === undefined ? {} : { client_secret: secret }) });
    },
  );

  app.get<{ Params: ClientParams }>(
    '/admin/clients/:client',
    {
      ...guarded,
      schema: {
        ...ADMIN_SCHEMA,
        operationId: 'adminGetClient',
        summary: 'Get an OAuth client',
        params: clientParamsSchema,
        response: { 200: { ...publicClientSchema, description: 'The client' }, ...errorResponses({ ...ADMIN_ERRORS, ...notFound }) },
      },
    },
    async (request) => toPublicClient(await clients.find(request.params.client)),
  );

  app.patch<{ Params: ClientParams; Body: UpdateClientBody }>(
    '/admin/clients/:client',
    {
      ...guarded,
      bodyLimit: ADMIN_BODY_LIMIT_BYTES,
      schema: {
        ...ADMIN_SCHEMA,
        operationId: 'adminUpdateClient',
        summary: 'Change an OAuth client',
        description: 'The fields given replace the old values (a list replaces the whole list); the type and the secret stay.',
        params: clientParamsSchema,
        body: updateClientBodySchema,
        response: {
          200: { ...publicClientSchema, description: 'The changed client' },
          ...errorResponses({ ...invalid, ...ADMIN_ERRORS, ...notFound, ...bodyErrors }),
        },
      },
    },
    async (request) => toPublicClient(await clients.update(request.params.client, changeOf(request.body), actor(request))),
  );

  app.delete<{ Params: ClientParams }>(
    '/admin/clients/:client',
    {
      ...guarded,
      schema: {
        ...ADMIN_SCHEMA,
        operationId: 'adminRemoveClient',
        summary: 'Remove an OAuth client',
        description: 'Ends the sessions it opened; its tokens stop working.',
        params: clientParamsSchema,
        response: { 204: { ...noContentSchema, description: 'Removed' }, ...errorResponses({ ...ADMIN_ERRORS, ...notFound }) },
      },
    },
    async (request, reply) => {
      await clients.remove(request.params.client, actor(request));
      return reply.code(204).send();
    },
  );
}
