/** JSON Schemas of POST /password/reset (issue 14); POST /password/forgot's are in account-mail-schemas.ts. */
import type { FromSchema } from './from-schema.js';

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
