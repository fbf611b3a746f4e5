/**
 * What every route schema shares: the error body (one schema with an `$id`,
 * added to the app once and referenced as `PortcullisError#`, so /openapi.json
 * lists it once under components), the documented error responses, and the
 * names of the tags and security schemes that src/http/plugins/openapi.ts declares.
 */
import type { FastifyInstance } from 'fastify';

/**
 * API.md's error body. `error` and `error_description` (RFC 6749 §5.2) only on /token, /revoke and /introspect.
 * Not just `Error`: an app that embeds Portcullis may have a schema of that name, and client generators a type.
 */
export const errorSchema = {
  $id: 'PortcullisError',
  type: 'object',
  description: 'An error. `error` and `error_description` (RFC 6749 §5.2) are set by /token, /revoke and /introspect only.',
  required: ['detail'],
  properties: {
    detail: { type: 'string', description: 'What went wrong, for people' },
    error: { type: 'string', description: 'The OAuth 2.0 error code, e.g. invalid_grant' },
    error_description: { type: 'string', description: 'The same text as detail' },
    challenge: {
      type: 'object',
      description:
        'On a 429 of a password attempt (`POST /token`, `PUT /users/me/password`): an ALTCHA v2 proof-of-work challenge. ' +
        'Send its solution as `challenge_solution` with the same attempt to be let through to the password check (docs/SECURITY.md).',
      required: ['parameters', 'signature'],
      properties: {
        parameters: { type: 'object', additionalProperties: true },
        signature: { type: 'string' },
      },
    },
    sign_in_link: {
      type: 'boolean',
      description:
        'On a 429 of a password login with SIGN_IN_LINKS=on: true, and a sign-in link by mail (`POST /signin/link`) is a way in ' +
        'that needs no work, past every login throttle (docs/SECURITY.md)',
    },
    mfa_token: {
      type: 'string',
      description:
        'With `error: mfa_required` (401 from `POST /token`): single-use, valid five minutes; send it with a code as the mfa grant ' +
        '(docs/http-api.md, "MFA")',
    },
    factors: {
      type: 'array',
      items: { type: 'string' },
      description:
        'With `error: mfa_required`: what the user can send: `totp` (as `otp`), `webauthn` (as `webauthn_response`), `recovery_code`',
    },
    webauthn: {
      type: 'object',
      additionalProperties: true,
      description:
        'With `error: mfa_required`, for a user with a WebAuthn factor: the options (PublicKeyCredentialRequestOptionsJSON) to ' +
        'hand to `navigator.credentials.get()`; send its answer as `webauthn_response` with the mfa grant',
    },
    enrolment_required: {
      type: 'boolean',
      description:
        'With `error: mfa_required`, when the MFA policy requires a second factor of a user who has none (`factors` is empty): ' +
        'true; enrol one with the mfa_token (`POST /mfa/enrol`), then send its first code with the mfa grant',
    },
    max_age: {
      type: 'integer',
      description: 'With `error: insufficient_user_authentication` (RFC 9470): the oldest login accepted, in seconds',
    },
    acr_values: {
      type: 'string',
      description: 'With `error: insufficient_user_authentication` (RFC 9470): the `acr` values accepted, space-separated',
    },
  },
} as const;

/** Adds the schemas routes refer to by `$ref`; before any route. */
export function registerSharedSchemas(app: FastifyInstance): void {
  app.addSchema(errorSchema);
}

const ERROR_REF = `${errorSchema.$id}#`;

/** Why a route answers with an error status, shown in /openapi.json and /docs. */
export const ERRORS = Object.freeze({
  invalidRequest: 'Invalid request: a missing, malformed or unknown field; `detail` says which',
  notAuthenticated:
    'No bearer token (`Not authenticated`), or a bad, expired or revoked one (`Could not validate credentials`); ' +
    '`WWW-Authenticate: Bearer`',
  userOnly: 'The token is a service client\'s, and the route is for users (`WWW-Authenticate: Bearer error="insufficient_scope"`)',
  adminOnly: 'The token lacks the `admin` scope (`Not enough permissions`)',
  userNotFound: 'No such user',
  tooLarge: 'Request body too large',
  mediaType: 'Unsupported Content-Type or charset',
  rateLimited: 'Too many requests, or login backoff (`Retry-After`); on a password attempt with a `challenge` that lets it through',
  overloaded: 'Password hashing is overloaded (`Retry-After`)',
  duplicateAuthorization:
    'Two `Authorization` headers in one request (`Duplicate Authorization header`, `invalid_request`), whatever they hold',
});

export interface ErrorResponse {
  readonly $ref: string;
  readonly description: string;
}

/**
 * Response schemas for the error statuses a route documents, plus `4xx` and
 * `5xx` for the rest: every error body goes through the shared schema.
 */
export function errorResponses(documented: Readonly<Record<number, string>> = {}): Record<string, ErrorResponse> {
  const described: Record<number, string> = { ...documented };
  // A route that takes credentials (it documents a 401) refuses a request with two Authorization headers.
  if (described[401] !== undefined) {
    const duplicate = ERRORS.duplicateAuthorization;
    described[400] = described[400] === undefined ? duplicate : `${described[400]}; or ${duplicate[0]!.toLowerCase()}${duplicate.slice(1)}`;
  }
  const responses: Record<string, ErrorResponse> = {};
  for (const [status, description] of Object.entries(described)) responses[status] = { $ref: ERROR_REF, description };
  responses['4xx'] = { $ref: ERROR_REF, description: 'Another client error' };
  responses['5xx'] = {
    $ref: ERROR_REF,
    description: 'Server error: 503 with `Retry-After` while storage is unreachable, 500 for anything unexpected',
  };
  return responses;
}

/** The response of a 204: no body. */
export const noContentSchema = { type: 'null', description: 'No Content' } as const;

/** Tag names; their descriptions are in the OpenAPI plugin. */
export const TAGS = Object.freeze({
  oauth: 'OAuth 2.0',
  users: 'Users',
  admin: 'Admin',
  discovery: 'Discovery',
  health: 'Health',
});

/** Security scheme names (components.securitySchemes). */
export const SECURITY_SCHEMES = Object.freeze({
  oauth2: 'OAuth2',
  bearer: 'HTTPBearer',
  clientBasic: 'ClientBasic',
});

type SecurityRequirement = Readonly<Record<string, readonly string[]>>;

/** A bearer access token with `scopes`, got through the OAuth2 flows or pasted as a bearer token. */
export function bearerSecurity(scopes: readonly string[] = []): readonly SecurityRequirement[] {
  return [{ [SECURITY_SCHEMES.oauth2]: scopes }, { [SECURITY_SCHEMES.bearer]: scopes }];
}

/** A service client's HTTP Basic credentials (client_id and client_secret in the body work as well). */
export const clientSecurity: readonly SecurityRequirement[] = [{ [SECURITY_SCHEMES.clientBasic]: [] }];

/** No credentials, or a service client's. */
export const optionalClientSecurity: readonly SecurityRequirement[] = [{}, { [SECURITY_SCHEMES.clientBasic]: [] }];

/** Both media types POST bodies may use; the form first, as the FastAPI guide's clients send it. */
export const FORM_OR_JSON = ['application/x-www-form-urlencoded', 'application/json'] as const;
