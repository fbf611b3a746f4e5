/** POST /token (RFC 6749 §4.3, §4.4, §4.5, §6), POST /revoke (RFC 7009), POST /introspect (RFC 7662). */
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Client } from '../../core/clients/client.js';
import { InvalidClientError, InvalidRequestError, UnsupportedGrantTypeError } from '../../core/errors.js';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { parseAuthenticationResponse } from '../../core/factors/webauthn.js';
import { MFA_GRANT, PASSKEY_GRANT, SIGN_IN_LINK_GRANT, type Portcullis, type TokenTypeHint } from '../../core/portcullis.js';
import type { SecondFactorProof } from '../../core/factors/factor-service.js';
import { parseScopeParameter } from '../../core/tokens/scopes.js';
import type { HttpConfig } from '../settings.js';
import { clientCredentials } from '../plugins/client-auth.js';
import { deviceTokenOf, setDeviceCookie } from '../plugins/device-cookie.js';
import { rateLimit, setRateLimitHeaders } from '../plugins/rate-limit.js';
import { actionContext } from '../plugins/request-context.js';
import {
  clientSecurity,
  ERRORS,
  errorResponses,
  FORM_OR_JSON,
  noContentSchema,
  optionalClientSecurity,
  TAGS,
} from '../schemas/common-schemas.js';
import {
  introspectionResponseSchema,
  revocationBodySchema,
  tokenBodySchema,
  tokenResponseSchema,
  type RevocationBody,
  type TokenBody,
} from '../schemas/token-schemas.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** An OAuth endpoint: its errors also carry RFC 6749 §5.2 `error` and `error_description` (error-handler.ts). */
    oauth?: boolean;
  }
}

/** Enough for a 1024-character password percent-encoded, and little else. */
export const TOKEN_BODY_LIMIT_BYTES = 8 * 1024;

/** What the OAuth endpoints share in their schemas. */
const oauthEndpoint = { tags: [TAGS.oauth], consumes: FORM_OR_JSON };
const bodyErrors = { 413: ERRORS.tooLarge, 415: ERRORS.mediaType, 429: ERRORS.rateLimited };
const invalidClient = 'Client authentication failed (`invalid_client`, `WWW-Authenticate: Basic`)';

function requireField(body: TokenBody, name: 'username' | 'password' | 'refresh_token' | 'token' | 'mfa_token' | 'code'): string {
  const value = body[name];
  if (value === undefined || value === '') throw new InvalidRequestError(`Missing required parameter: ${name}`);
  return value;
}

function requestedScopes(body: TokenBody): string[] | undefined {
  if (body.scope === undefined || body.scope === '') return undefined;
  const scopes = parseScopeParameter(body.scope);
  if (scopes === undefined) throw new InvalidRequestError('Malformed scope parameter');
  return scopes;
}

async function authenticatedClient(
  portcullis: Portcullis,
  request: FastifyRequest,
  body: TokenBody | RevocationBody,
): Promise<Client | undefined> {
  const credentials = clientCredentials(request, body);
  return credentials === undefined ? undefined : portcullis.authenticateClient(credentials, actionContext(request));
}

/**
 * The client of a code-flow grant: a confidential client authenticates; a public one names itself
 * with `client_id` alone (RFC 6749 §3.2.1), which for any other client is no authentication.
 */
async function codeFlowClient(
  portcullis: Portcullis,
  request: FastifyRequest,
  body: TokenBody | RevocationBody,
  required: boolean,
): Promise<Client | undefined> {
  const authenticated = await authenticatedClient(portcullis, request, body);
  if (authenticated !== undefined || body.client_id === undefined || body.client_id === '') return authenticated;
  const client = await portcullis.publicClient(body.client_id);
  if (client === undefined && required) throw new InvalidClientError();
  return client;
}

/** The mfa grant's proof: `otp`, `recovery_code` or `webauthn_response`, exactly one. */
function secondFactorProof(body: TokenBody): SecondFactorProof {
  const otp = body.otp || undefined;
  const recoveryCode = body.recovery_code || undefined;
  const webauthn = body.webauthn_response || undefined;
  const given = [otp, recoveryCode, webauthn].filter((value) => value !== undefined).length;
  if (given !== 1) throw new InvalidRequestError('Send exactly one of otp, recovery_code and webauthn_response');
  if (otp !== undefined) return { otp };
  if (recoveryCode !== undefined) return { recoveryCode };
  return { webauthn: parseAuthenticationResponse(webauthn) };
}

/** The passkey grant's assertion. */
function passkeyAssertion(body: TokenBody): AuthenticationResponseJSON {
  const value = body.webauthn_response || undefined;
  if (value === undefined) throw new InvalidRequestError('Missing required parameter: webauthn_response');
  return parseAuthenticationResponse(value);
}

function tokenTypeHint(value: string | undefined): TokenTypeHint {
  // RFC 7009 §2.1 / RFC 7662 §2.1: an unknown hint is ignored, not an error.
  return value === 'access_token' || value === 'refresh_token' ? value : undefined;
}

async function noStore(_request: FastifyRequest, reply: FastifyReply): Promise<void> {
  // RFC 6749 §5.1: token responses, and their errors, are never cached.
  reply.header('cache-control', 'no-store');
  reply.header('pragma', 'no-cache');
}

/**
 * The rate limits of /token's other grants. A password grant's (the grant type may be left out,
 * as in the guide) are core's: the login guard spends them with the backoff, and answers a
 * refusal with a challenge.
 */
function otherGrantsRateLimit(portcullis: Portcullis): preHandlerAsyncHookHandler {
  const limit = rateLimit(portcullis, 'token');
  return async function (request, reply) {
    const body = (request.body ?? {}) as TokenBody;
    const grantType = body.grant_type === undefined || body.grant_type === '' ? 'password' : body.grant_type;
    if (grantType !== 'password') await limit.call(this, request, reply);
  };
}

export function registerTokenRoutes(app: FastifyInstance, portcullis: Portcullis, http: Pick<HttpConfig, 'secureCookies'>): void {
  app.post<{ Body: TokenBody }>(
    '/token',
    {
      bodyLimit: TOKEN_BODY_LIMIT_BYTES,
      config: { oauth: true },
      preHandler: otherGrantsRateLimit(portcullis),
      schema: {
        ...oauthEndpoint,
        operationId: 'token',
        summary: 'Get tokens (log in, refresh, client credentials, authorization code, sign-in link, second step, passkey)',
        description:
          'The token endpoint (RFC 6749 §4.3, §4.4, §6), as in the FastAPI guide: a form (or JSON) body. ' +
          '`grant_type=password` (or absent): `username`, `password`; `refresh_token`: `refresh_token`; ' +
          '`client_credentials`: a service client, by HTTP Basic or `client_id` and `client_secret`; ' +
          "`authorization_code` (RFC 6749 §4.1.3, PKCE): `code`, `redirect_uri`, `code_verifier`, a confidential client authenticated or a public one's `client_id`; " +
          `\`${SIGN_IN_LINK_GRANT}\` (SIGN_IN_LINKS=on, RFC 6749 §4.5): \`token\`, from a sign-in link's mail. ` +
          'A user with a second factor gets a 401 `mfa_required` with an `mfa_token` from the password and sign-in link grants; ' +
          `\`${MFA_GRANT}\`: \`mfa_token\` and \`otp\`, \`recovery_code\` or \`webauthn_response\` finishes the login (docs/http-api.md, "MFA"). ` +
          `\`${PASSKEY_GRANT}\` (PASSKEY_LOGIN=on): \`webauthn_response\`, an assertion to the options of \`POST /signin/passkey\`. ` +
          'The password, refresh and sign-in link grants need no client. Responses are never cached.',
        security: optionalClientSecurity,
        body: tokenBodySchema,
        response: {
          200: { ...tokenResponseSchema, description: 'The tokens (no refresh token for client credentials)' },
          ...errorResponses({
            400:
              'A missing parameter or a malformed scope (`invalid_request`), another grant_type ' +
              '(`unsupported_grant_type`; so is the sign-in link grant with SIGN_IN_LINKS=off), a scope wider than the grant ' +
              '(`invalid_scope`), an authorization code that is unknown, used, expired, or of another client, redirect URI or verifier (`invalid_grant`), ' +
              'a client not registered for the grant (`unauthorized_client`), a sign-in link token that is unknown, used or expired (`invalid_grant`); for the mfa grant, ' +
              'a wrong or used code, a WebAuthn answer that does not verify, or an mfa_token that is unknown, used, expired or ' +
              'out of attempts (`invalid_grant`); for the passkey grant, an answer that does not verify (`invalid_grant`)',
            401:
              'Incorrect username or password, inactive user, or a bad refresh token ' +
              `(\`invalid_grant\`, \`WWW-Authenticate: Bearer\`); a second factor is needed (\`mfa_required\`, with \`mfa_token\` and \`factors\`, and \`enrolment_required\` ` +
              `when the MFA policy requires one of a user who has none: POST /mfa/enrol); or ${invalidClient}`,
            ...bodyErrors,
            503: ERRORS.overloaded,
          }),
        },
      },
      onSend: noStore,
    },
    async (request, reply) => {
      const body = request.body ?? {};
      const grantType = body.grant_type === undefined || body.grant_type === '' ? 'password' : body.grant_type;
      const context = actionContext(request);
      switch (grantType) {
        case 'password': {
          const username = requireField(body, 'username');
          const password = requireField(body, 'password');
          const scopes = requestedScopes(body);
          const client = await authenticatedClient(portcullis, request, body);
          const login = await portcullis.passwordLogin(
            {
              username,
              password,
              scopes,
              deviceToken: deviceTokenOf(request),
              challengeSolution: body.challenge_solution || undefined,
              onRateCheck: (check) => setRateLimitHeaders(reply, check),
            },
            client,
            context,
          );
          if (login.deviceToken !== undefined) setDeviceCookie(reply, login.deviceToken, http.secureCookies);
          return login.tokens;
        }
        case 'refresh_token': {
          const refreshToken = requireField(body, 'refresh_token');
          const scopes = requestedScopes(body);
          const client = await codeFlowClient(portcullis, request, body, false);
          return portcullis.refreshGrant(refreshToken, scopes, client, context);
        }
        case 'authorization_code': {
          const code = requireField(body, 'code');
          const client = await codeFlowClient(portcullis, request, body, true);
          return portcullis.authorizationCodeGrant(
            { code, redirectUri: body.redirect_uri || undefined, codeVerifier: body.code_verifier || undefined },
            client,
            context,
          );
        }
        case 'client_credentials': {
          const scopes = requestedScopes(body);
          const client = await authenticatedClient(portcullis, request, body);
          return portcullis.clientCredentialsGrant(client, scopes, context);
        }
        case SIGN_IN_LINK_GRANT: {
          // Only the client address's bucket (otherGrantsRateLimit): no backoff and no challenge, the link is no guess.
          const token = requireField(body, 'token');
          const scopes = requestedScopes(body);
          const client = await authenticatedClient(portcullis, request, body);
          return portcullis.signInWithLink(token, scopes, client, context);
        }
        case PASSKEY_GRANT: {
          // The client address's bucket (otherGrantsRateLimit): an assertion is no guess; its challenge is used once.
          const assertion = passkeyAssertion(body);
          const scopes = requestedScopes(body);
          const client = await authenticatedClient(portcullis, request, body);
          return portcullis.passkeyGrant(assertion, scopes, client, context);
        }
        case MFA_GRANT: {
          // The client address's bucket (otherGrantsRateLimit), the mfa_token's attempts and the account's bucket of codes (core).
          const mfaToken = requireField(body, 'mfa_token');
          const proof = secondFactorProof(body);
          const client = await authenticatedClient(portcullis, request, body);
          const login = await portcullis.mfaLogin(mfaToken, proof, client, context);
          if (login.deviceToken !== undefined) setDeviceCookie(reply, login.deviceToken, http.secureCookies);
          return login.tokens;
        }
        default:
          throw new UnsupportedGrantTypeError(`Unsupported grant_type: ${grantType.slice(0, 64)}`);
      }
    },
  );

  app.post<{ Body: RevocationBody }>(
    '/revoke',
    {
      bodyLimit: TOKEN_BODY_LIMIT_BYTES,
      config: { oauth: true },
      preHandler: rateLimit(portcullis, 'revoke'),
      schema: {
        ...oauthEndpoint,
        operationId: 'revoke',
        summary: 'Revoke a token',
        description:
          'RFC 7009: ends the session of a refresh token or of an access token. 200 whether or not there was anything to revoke. ' +
          'A confidential client authenticates, a public one sends its `client_id`; either may revoke only its own tokens.',
        security: optionalClientSecurity,
        body: revocationBodySchema,
        response: {
          200: { ...noContentSchema, description: 'Revoked, or nothing to revoke' },
          ...errorResponses({ 400: 'Missing token (`invalid_request`)', 401: invalidClient, ...bodyErrors }),
        },
      },
      onSend: noStore,
    },
    async (request, reply) => {
      const body = request.body ?? {};
      // A public client names itself with client_id (RFC 7009 §2.1), and so may revoke its own tokens.
      const client = await codeFlowClient(portcullis, request, body, false);
      const token = body.token;
      if (token === undefined || token === '') throw new InvalidRequestError('Missing required parameter: token');
      // token_type_hint is accepted and not needed: both token types are always tried (RFC 7009 §2.1).
      await portcullis.revokeToken(token, client, actionContext(request));
      // RFC 7009 §2.2: 200 whether or not there was anything to revoke.
      return reply.code(200).send();
    },
  );

  app.post<{ Body: RevocationBody }>(
    '/introspect',
    {
      bodyLimit: TOKEN_BODY_LIMIT_BYTES,
      config: { oauth: true },
      preHandler: rateLimit(portcullis, 'introspect'),
      schema: {
        ...oauthEndpoint,
        operationId: 'introspect',
        summary: 'Introspect a token',
        description:
          'RFC 7662, for resource servers: whether a token is active, and its claims. Needs a service client ' +
          '(HTTP Basic, or `client_id` and `client_secret` in the body).',
        security: clientSecurity,
        body: revocationBodySchema,
        response: {
          200: { ...introspectionResponseSchema, description: '`{"active": false}` for any token that is not active' },
          ...errorResponses({ 400: 'Missing token (`invalid_request`)', 401: invalidClient, ...bodyErrors }),
        },
      },
      onSend: noStore,
    },
    async (request) => {
      const body = request.body ?? {};
      const client = await authenticatedClient(portcullis, request, body);
      const token = body.token;
      if (token === undefined || token === '') throw new InvalidRequestError('Missing required parameter: token');
      return portcullis.introspect(token, tokenTypeHint(body.token_type_hint), client);
    },
  );
}
