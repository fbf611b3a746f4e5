/**
 * POST /token (RFC 6749 §4.3, §4.4, §4.5, §6). Types and lengths are checked here; which
 * fields a grant requires is checked by the route, since it depends on
 * grant_type. Unknown parameters are ignored, as RFC 6749 §3.1 requires.
 */
import type { FromSchema } from './from-schema.js';

export const tokenBodySchema = {
  type: 'object',
  properties: {
    grant_type: {
      type: 'string',
      maxLength: 128,
      description:
        '`password` (the default when absent), `refresh_token`, `client_credentials`, `authorization_code`, ' +
        '`urn:portcullis:params:oauth:grant-type:mfa` (the second step of a login), (SIGN_IN_LINKS=on) ' +
        '`urn:portcullis:params:oauth:grant-type:sign-in-link`, or (PASSKEY_LOGIN=on) `urn:portcullis:params:oauth:grant-type:passkey`',
    },
    username: { type: 'string', maxLength: 256, description: 'password grant' },
    password: { type: 'string', maxLength: 1024, description: 'password grant' },
    scope: {
      type: 'string',
      maxLength: 2048,
      description: 'Space-separated scopes to narrow the token to; absent: all the user (or client) holds',
    },
    client_id: {
      type: 'string',
      maxLength: 256,
      description:
        'Optional for the password and refresh grants; or HTTP Basic. A public client sends it alone (authorization_code, refresh_token)',
    },
    client_secret: { type: 'string', maxLength: 512, description: 'With client_id; or HTTP Basic' },
    refresh_token: { type: 'string', maxLength: 1024, description: 'refresh_token grant' },
    code: { type: 'string', maxLength: 256, description: 'authorization_code grant: the code the redirect carried' },
    redirect_uri: {
      type: 'string',
      maxLength: 2048,
      description: 'authorization_code grant: the redirect_uri of the authorization request',
    },
    code_verifier: { type: 'string', maxLength: 128, description: 'authorization_code grant: the PKCE verifier (RFC 7636)' },
    token: { type: 'string', maxLength: 1024, description: 'sign-in link grant: the token of the mailed link' },
    mfa_token: { type: 'string', maxLength: 256, description: 'mfa grant: the `mfa_token` of the `mfa_required` answer' },
    otp: { type: 'string', maxLength: 64, description: 'mfa grant: the code of an authenticator app (TOTP, six digits)' },
    recovery_code: { type: 'string', maxLength: 64, description: 'mfa grant, instead of `otp`: an unused recovery code' },
    webauthn_response: {
      type: 'string',
      maxLength: 6144,
      description:
        "mfa grant, instead of `otp`; and the passkey grant: the authenticator's answer to the `webauthn` options, as a JSON " +
        "string (`JSON.stringify(credential)`, or of `startAuthentication`'s result)",
    },
    challenge_solution: {
      type: 'string',
      maxLength: 4096,
      description:
        'password grant: the solution of the `challenge` a refused (429) attempt carried, which lets this attempt through ' +
        'to the password check (base64 JSON `{challenge, solution}`, as the ALTCHA widget and `altcha-lib` produce; see docs/SECURITY.md)',
    },
  },
} as const;

export type TokenBody = FromSchema<typeof tokenBodySchema>;

export const tokenResponseSchema = {
  type: 'object',
  required: ['access_token', 'token_type', 'expires_in', 'scope'],
  properties: {
    access_token: { type: 'string' },
    token_type: { type: 'string' },
    expires_in: { type: 'integer' },
    refresh_token: { type: 'string' },
    scope: { type: 'string' },
    recovery_codes: {
      type: 'array',
      items: { type: 'string' },
      description:
        'mfa grant only, when it confirmed a factor enrolled at login (`POST /mfa/enrol`): ten single-use recovery codes, shown this once',
    },
    id_token: {
      type: 'string',
      description: 'authorization_code grant with the `openid` scope: the OpenID Connect ID token (docs/oidc.md)',
    },
  },
  additionalProperties: false,
} as const;

/** RFC 7009 §2.1 and RFC 7662 §2.1 share their parameters. */
export const revocationBodySchema = {
  type: 'object',
  properties: {
    token: { type: 'string', maxLength: 4096, description: 'An access token or a refresh token (required)' },
    token_type_hint: { type: 'string', maxLength: 64, description: '`access_token` or `refresh_token`; both are tried anyway' },
    client_id: { type: 'string', maxLength: 256 },
    client_secret: { type: 'string', maxLength: 512 },
  },
} as const;

export type RevocationBody = FromSchema<typeof revocationBodySchema>;

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
