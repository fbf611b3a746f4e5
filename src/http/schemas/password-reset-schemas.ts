/** JSON Schemas of the password reset routes (issue 14). */
import type { FromSchema } from './from-schema.js';

export const forgotPasswordBodySchema = {
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

export type ForgotPasswordBody = FromSchema<typeof forgotPasswordBodySchema>;

export const forgotPasswordResponseSchema = {
  type: 'object',
  required: ['detail'],
  properties: { detail: { type: 'string' } },
  additionalProperties: false,
} as const;

export const resetPasswordBodySchema = {
  type: 'object',
  required: ['token', 'new_password'],
  properties: {
    token: { type: 'string', minLength: 1, maxLength: 4096, description: 'The reset token from the mail (the `token` of its link)' },
    new_password: { type: 'string', minLength: 1, maxLength: 4096 },
  },
  additionalProperties: false,
} as const;

export type ResetPasswordBody = FromSchema<typeof resetPasswordBodySchema>;
