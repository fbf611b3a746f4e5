/** JSON Schemas for user bodies and responses; responses are serialised through them, so no other field can leak. */
import type { FromSchema } from './from-schema.js';

export const publicUserSchema = {
  type: 'object',
  required: ['username', 'email', 'email_verified', 'full_name', 'disabled', 'scopes', 'created_at', 'mfa_required'],
  properties: {
    username: { type: 'string' },
    email: { type: ['string', 'null'] },
    email_verified: { type: 'boolean', description: 'Whether the user proved they receive mail at `email`' },
    full_name: { type: ['string', 'null'] },
    disabled: { type: 'boolean' },
    scopes: { type: 'array', items: { type: 'string' } },
    created_at: { type: 'string', format: 'date-time' },
    mfa_required: {
      type: 'boolean',
      description: 'An administrator requires a second factor of this user (MFA_POLICY may require one anyway)',
    },
  },
  additionalProperties: false,
} as const;

export const signUpBodySchema = {
  type: 'object',
  required: ['username', 'password'],
  properties: {
    username: { type: 'string', minLength: 1, maxLength: 256 },
    password: { type: 'string', minLength: 1, maxLength: 4096 },
    email: { type: ['string', 'null'], maxLength: 320 },
    full_name: { type: ['string', 'null'], maxLength: 1000 },
  },
  additionalProperties: false,
} as const;

export type SignUpBody = FromSchema<typeof signUpBodySchema>;

export const changePasswordBodySchema = {
  type: 'object',
  required: ['current_password', 'new_password'],
  properties: {
    current_password: { type: 'string', minLength: 1, maxLength: 4096 },
    new_password: { type: 'string', minLength: 1, maxLength: 4096 },
    challenge_solution: {
      type: 'string',
      maxLength: 4096,
      description: 'The solution of the challenge a refused (429) attempt carried; see docs/SECURITY.md',
    },
  },
  additionalProperties: false,
} as const;

export type ChangePasswordBody = FromSchema<typeof changePasswordBodySchema>;

export const sessionIdParamsSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', maxLength: 64, description: 'The session id, as GET /users/me/sessions lists it' } },
} as const;

export type SessionIdParams = FromSchema<typeof sessionIdParamsSchema>;

export const logoutQuerySchema = {
  type: 'object',
  properties: {
    scope: {
      type: 'string',
      maxLength: 16,
      description: '`local` (the default) ends this session; `global` ends every session of the user',
    },
  },
} as const;

export type LogoutQuery = FromSchema<typeof logoutQuerySchema>;

export const publicSessionSchema = {
  type: 'object',
  required: ['id', 'created_at', 'last_used_at', 'idle_expires_at', 'expires_at', 'ip', 'user_agent', 'scope', 'current'],
  properties: {
    id: { type: 'string' },
    created_at: { type: 'string', format: 'date-time' },
    last_used_at: { type: 'string', format: 'date-time' },
    idle_expires_at: { type: 'string', format: 'date-time' },
    expires_at: { type: 'string', format: 'date-time' },
    ip: { type: ['string', 'null'] },
    user_agent: { type: ['string', 'null'] },
    scope: { type: 'string' },
    current: { type: 'boolean' },
  },
  additionalProperties: false,
} as const;

export const sessionListSchema = { type: 'array', items: publicSessionSchema } as const;
