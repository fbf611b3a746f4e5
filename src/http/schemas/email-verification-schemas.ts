/** JSON Schemas of the e-mail verification routes (issue 14); POST /email/verify/resend's are in account-mail-schemas.ts. */
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
