/**
 * POST /token (RFC 6749 §4.3). Types and lengths are checked here; which
 * fields a grant requires is checked by the route, since it depends on
 * grant_type. Unknown parameters are ignored, as RFC 6749 §3.1 requires.
 */
export const tokenBodySchema = {
  type: 'object',
  properties: {
    grant_type: { type: 'string', maxLength: 128 },
    username: { type: 'string', maxLength: 256 },
    password: { type: 'string', maxLength: 1024 },
    scope: { type: 'string', maxLength: 2048 },
    client_id: { type: 'string', maxLength: 256 },
    client_secret: { type: 'string', maxLength: 512 },
    refresh_token: { type: 'string', maxLength: 1024 },
  },
} as const;

export interface TokenBody {
  grant_type?: string;
  username?: string;
  password?: string;
  scope?: string;
  client_id?: string;
  client_secret?: string;
  refresh_token?: string;
}

export const tokenResponseSchema = {
  type: 'object',
  required: ['access_token', 'token_type', 'expires_in', 'scope'],
  properties: {
    access_token: { type: 'string' },
    token_type: { type: 'string' },
    expires_in: { type: 'integer' },
    refresh_token: { type: 'string' },
    scope: { type: 'string' },
  },
  additionalProperties: false,
} as const;

/** RFC 7009 §2.1 and RFC 7662 §2.1 share their parameters. */
export const revocationBodySchema = {
  type: 'object',
  properties: {
    token: { type: 'string', maxLength: 4096 },
    token_type_hint: { type: 'string', maxLength: 64 },
    client_id: { type: 'string', maxLength: 256 },
    client_secret: { type: 'string', maxLength: 512 },
  },
} as const;

export interface RevocationBody {
  token?: string;
  token_type_hint?: string;
  client_id?: string;
  client_secret?: string;
}

export const introspectionResponseSchema = {
  type: 'object',
  required: ['active'],
  properties: {
    active: { type: 'boolean' },
    token_type: { type: 'string' },
    scope: { type: 'string' },
    sub: { type: 'string' },
    username: { type: 'string' },
    sid: { type: 'string' },
    client_id: { type: 'string' },
    iss: { type: 'string' },
    aud: { type: 'string' },
    exp: { type: 'integer' },
    iat: { type: 'integer' },
    nbf: { type: 'integer' },
    jti: { type: 'string' },
  },
  additionalProperties: false,
} as const;
