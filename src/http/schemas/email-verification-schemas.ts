/** JSON Schemas of the e-mail verification routes (issue 14). */
import type { FromSchema } from './from-schema.js';

export const verifyEmailBodySchema = {
  type: 'object',
  required: ['token'],
  properties: {
    token: { type: 'string', minLength: 1, maxLength: 4096, description: 'The token from the verification mail (the `token` of its link)' },
  },
  additionalProperties: false,
} as const;

export type VerifyEmailBody = FromSchema<typeof verifyEmailBodySchema>;

export const resendVerificationBodySchema = {
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

export type ResendVerificationBody = FromSchema<typeof resendVerificationBodySchema>;

export const changeEmailBodySchema = {
  type: 'object',
  required: ['email', 'current_password'],
  properties: {
    email: { type: 'string', minLength: 1, maxLength: 320, description: "The new address; it becomes the account's once verified" },
    current_password: { type: 'string', minLength: 1, maxLength: 4096 },
    challenge_solution: {
      type: 'string',
      maxLength: 4096,
      description: 'The solution of the challenge a refused (429) attempt carried; see docs/SECURITY.md',
    },
  },
  additionalProperties: false,
} as const;

export type ChangeEmailBody = FromSchema<typeof changeEmailBodySchema>;

export const acceptedSchema = {
  type: 'object',
  required: ['detail'],
  properties: { detail: { type: 'string' } },
  additionalProperties: false,
} as const;
