/** JSON Schemas of POST /signin/link (issue 14); its grant's parameters are in token-schemas.ts. */
import type { FromSchema } from './from-schema.js';

export const signInLinkBodySchema = {
  type: 'object',
  properties: {
    email: {
      type: 'string',
      minLength: 1,
      maxLength: 320,
      description: 'The e-mail address of the account (exactly one of email and username)',
    },
    username: { type: 'string', minLength: 1, maxLength: 256, description: 'The username of the account' },
  },
  additionalProperties: false,
} as const;

export type SignInLinkBody = FromSchema<typeof signInLinkBodySchema>;

export const signInLinkResponseSchema = {
  type: 'object',
  required: ['detail'],
  properties: { detail: { type: 'string' } },
  additionalProperties: false,
} as const;
