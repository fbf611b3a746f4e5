/** JSON Schemas of the admin API's clients (/admin/clients): what registration sets, what is shown. */
import { CLIENT_GRANT_TYPES } from '../../core/clients/client.js';
import { MAX_REDIRECT_URI_LENGTH } from '../../core/clients/redirect-uri.js';
import type { FromSchema } from './from-schema.js';

const uriList = (description: string) =>
  ({ type: 'array', maxItems: 20, items: { type: 'string', minLength: 1, maxLength: MAX_REDIRECT_URI_LENGTH }, description }) as const;

const clientFields = {
  scopes: {
    type: 'array',
    maxItems: 64,
    items: { type: 'string', minLength: 1, maxLength: 128 },
    description: 'Scopes the client may hold',
  },
  redirect_uris: uriList('Exact redirect URIs of the code flow: https, or http to localhost, 127.0.0.1 or [::1]; no fragment'),
  grant_types: {
    type: 'array',
    maxItems: 3,
    items: { type: 'string', enum: [...CLIENT_GRANT_TYPES] },
    description: 'Default: authorization_code and refresh_token with redirect URIs, client_credentials without',
  },
  first_party: { type: 'boolean', description: 'One of yours: its users are not asked for consent' },
  post_logout_redirect_uris: uriList('Where sign-out may send the browser back to'),
  backchannel_logout_uri: {
    type: ['string', 'null'],
    minLength: 1,
    maxLength: MAX_REDIRECT_URI_LENGTH,
    description:
      'Where back-channel logout tokens are POSTed (OpenID Connect Back-Channel Logout 1.0): https, or http to localhost, ' +
      '127.0.0.1 or [::1]; no fragment. null removes it',
  },
} as const;

export const createClientBodySchema = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 64 },
    type: { type: 'string', enum: ['confidential', 'public'], description: 'Default confidential; a public client has no secret' },
    ...clientFields,
  },
  additionalProperties: false,
} as const;

export type CreateClientBody = FromSchema<typeof createClientBodySchema>;

export const updateClientBodySchema = {
  type: 'object',
  minProperties: 1,
  properties: clientFields,
  additionalProperties: false,
} as const;

export type UpdateClientBody = FromSchema<typeof updateClientBodySchema>;

export const clientParamsSchema = {
  type: 'object',
  required: ['client'],
  properties: { client: { type: 'string', minLength: 1, maxLength: 128, description: 'The client name or client_id' } },
  additionalProperties: false,
} as const;

export type ClientParams = FromSchema<typeof clientParamsSchema>;

const stringList = { type: 'array', items: { type: 'string' } } as const;

export const publicClientSchema = {
  type: 'object',
  required: [
    'client_id',
    'name',
    'type',
    'scopes',
    'redirect_uris',
    'grant_types',
    'first_party',
    'post_logout_redirect_uris',
    'backchannel_logout_uri',
    'created_at',
  ],
  properties: {
    client_id: { type: 'string' },
    name: { type: 'string' },
    type: { type: 'string', enum: ['confidential', 'public'] },
    scopes: stringList,
    redirect_uris: stringList,
    grant_types: stringList,
    first_party: { type: 'boolean' },
    post_logout_redirect_uris: stringList,
    backchannel_logout_uri: { type: ['string', 'null'] },
    created_at: { type: 'string', format: 'date-time' },
  },
  additionalProperties: false,
} as const;

export const createdClientSchema = {
  ...publicClientSchema,
  properties: {
    ...publicClientSchema.properties,
    client_secret: { type: 'string', description: 'Only for a confidential client, only in this answer: only its hash is kept' },
  },
} as const;

export const clientListSchema = {
  type: 'object',
  required: ['clients'],
  properties: { clients: { type: 'array', items: publicClientSchema } },
  additionalProperties: false,
} as const;
