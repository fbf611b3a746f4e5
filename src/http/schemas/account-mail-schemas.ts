/**
 * JSON Schemas shared by the requests that mail an account and answer alike whether or not it
 * exists (issue 14: POST /password/forgot, POST /email/verify/resend, POST /signin/link): the
 * account named by exactly one of `email` and `username`, and the `{detail}` answer (also PUT
 * /users/me/email's).
 */
import type { FromSchema } from './from-schema.js';

export const accountReferenceBodySchema = {
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

export type AccountReferenceBody = FromSchema<typeof accountReferenceBodySchema>;

/** An accepted request's answer: a sentence for people. */
export const detailAnswerSchema = {
  type: 'object',
  required: ['detail'],
  properties: { detail: { type: 'string' } },
  additionalProperties: false,
} as const;
