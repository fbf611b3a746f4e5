/**
 * JSON Schemas of the admin API (/admin/users, /admin/audit). Query-string
 * values arrive as strings (ajv does not coerce here), so booleans, numbers
 * and dates are declared as strings with an enum or pattern and converted by
 * the route.
 */
import { AUDIT_EVENT_TYPES } from '../../core/audit/audit-event.js';
import type { FromSchema } from './from-schema.js';
import { publicUserSchema } from './user-schemas.js';

export const ADMIN_LIST_LIMIT_MAX = 500;
export const ADMIN_LIST_LIMIT_DEFAULT = 50;

const usernameProperty = { type: 'string', minLength: 1, maxLength: 256 } as const;
const scopesProperty = {
  type: 'array',
  maxItems: 64,
  items: { type: 'string', minLength: 1, maxLength: 128 },
  description: 'OAuth scope tokens',
} as const;
const limitProperty = {
  type: 'string',
  maxLength: 8,
  description: `page size, an integer from 1 to ${ADMIN_LIST_LIMIT_MAX} (default ${ADMIN_LIST_LIMIT_DEFAULT})`,
} as const;
const timeProperty = {
  type: 'string',
  maxLength: 64,
  description: 'ISO 8601 date (UTC midnight) or date-time with a time zone, e.g. 2025-05-01T12:00:00Z',
} as const;

export const usernameParamsSchema = {
  type: 'object',
  required: ['username'],
  properties: { username: usernameProperty },
  additionalProperties: false,
} as const;

export type UsernameParams = FromSchema<typeof usernameParamsSchema>;

export const sessionParamsSchema = {
  type: 'object',
  required: ['username', 'id'],
  properties: { username: usernameProperty, id: { type: 'string', minLength: 1, maxLength: 64 } },
  additionalProperties: false,
} as const;

export type SessionParams = FromSchema<typeof sessionParamsSchema>;

export const listUsersQuerySchema = {
  type: 'object',
  properties: {
    prefix: { type: 'string', maxLength: 256, description: 'start of the username, compared case-insensitively' },
    disabled: { type: 'string', enum: ['true', 'false'] },
    limit: limitProperty,
    after: { type: 'string', maxLength: 256, description: 'the `next` of the previous page' },
  },
  additionalProperties: false,
} as const;

export type ListUsersQuery = FromSchema<typeof listUsersQuerySchema>;

export const userPageSchema = {
  type: 'object',
  required: ['users', 'next'],
  properties: {
    users: { type: 'array', items: publicUserSchema },
    next: { type: ['string', 'null'], description: 'pass as `after` for the next page; null on the last page' },
  },
  additionalProperties: false,
} as const;

const mfaRequiredProperty = {
  type: 'boolean',
  description:
    'Require a second factor of this user at their next logins, whatever MFA_POLICY says (false: leave it to MFA_POLICY); ' +
    'a user without a factor enrols one at login',
} as const;

export const createUserBodySchema = {
  type: 'object',
  required: ['username', 'password'],
  properties: {
    username: usernameProperty,
    password: { type: 'string', minLength: 1, maxLength: 4096 },
    email: { type: ['string', 'null'], maxLength: 320 },
    email_verified: {
      type: 'boolean',
      description: "The operator says the address is the user's (or, false, no longer verified); without it a new address is unverified",
    },
    full_name: { type: ['string', 'null'], maxLength: 1000 },
    scopes: scopesProperty,
    disabled: { type: 'boolean' },
    mfa_required: mfaRequiredProperty,
  },
  additionalProperties: false,
} as const;

export type CreateUserBody = FromSchema<typeof createUserBodySchema>;

export const updateUserBodySchema = {
  type: 'object',
  minProperties: 1,
  properties: {
    email: { type: ['string', 'null'], maxLength: 320 },
    email_verified: {
      type: 'boolean',
      description: "The operator says the address is the user's (or, false, no longer verified); without it a new address is unverified",
    },
    full_name: { type: ['string', 'null'], maxLength: 1000 },
    scopes: scopesProperty,
    disabled: { type: 'boolean' },
    mfa_required: mfaRequiredProperty,
  },
  additionalProperties: false,
} as const;

export type UpdateUserBody = FromSchema<typeof updateUserBodySchema>;

export const setPasswordBodySchema = {
  type: 'object',
  required: ['password'],
  properties: { password: { type: 'string', minLength: 1, maxLength: 4096 } },
  additionalProperties: false,
} as const;

export type SetPasswordBody = FromSchema<typeof setPasswordBodySchema>;

export const auditQuerySchema = {
  type: 'object',
  properties: {
    type: { type: 'string', enum: [...AUDIT_EVENT_TYPES] },
    subject: { type: 'string', maxLength: 300 },
    actor: { type: 'string', maxLength: 300 },
    outcome: { type: 'string', enum: ['success', 'failure'] },
    since: { ...timeProperty, description: `events at or after this time; ${timeProperty.description}` },
    until: { ...timeProperty, description: `events before this time; ${timeProperty.description}` },
    limit: limitProperty,
    before: { type: 'string', maxLength: 64, description: 'the `next` of the previous page' },
  },
  additionalProperties: false,
} as const;

export type AuditQuery = FromSchema<typeof auditQuerySchema>;

export const publicAuditEventSchema = {
  type: 'object',
  required: ['id', 'at', 'type', 'outcome', 'actor', 'subject', 'ip', 'details'],
  properties: {
    id: { type: 'string' },
    at: { type: 'string', format: 'date-time' },
    type: { type: 'string' },
    outcome: { type: 'string', enum: ['success', 'failure'] },
    actor: { type: ['string', 'null'] },
    subject: { type: ['string', 'null'] },
    ip: { type: ['string', 'null'] },
    details: {
      type: 'object',
      additionalProperties: { type: ['string', 'number', 'boolean', 'null'] },
    },
  },
  additionalProperties: false,
} as const;

export const auditPageSchema = {
  type: 'object',
  required: ['events', 'next'],
  properties: {
    events: { type: 'array', items: publicAuditEventSchema },
    next: { type: ['string', 'null'], description: 'pass as `before` for the next (older) page; null on the last page' },
  },
  additionalProperties: false,
} as const;
