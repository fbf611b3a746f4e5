/** JSON Schemas for user bodies and responses; responses are serialised through them, so no other field can leak. */
export const publicUserSchema = {
  type: 'object',
  required: ['username', 'email', 'full_name', 'disabled', 'scopes', 'created_at'],
  properties: {
    username: { type: 'string' },
    email: { type: ['string', 'null'] },
    full_name: { type: ['string', 'null'] },
    disabled: { type: 'boolean' },
    scopes: { type: 'array', items: { type: 'string' } },
    created_at: { type: 'string', format: 'date-time' },
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

export interface SignUpBody {
  username: string;
  password: string;
  email?: string | null;
  full_name?: string | null;
}

export const errorSchema = {
  type: 'object',
  required: ['detail'],
  properties: {
    detail: { type: 'string' },
    error: { type: 'string' },
    error_description: { type: 'string' },
  },
} as const;
