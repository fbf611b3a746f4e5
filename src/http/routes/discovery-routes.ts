/** RFC 7517 JWK Set, RFC 8414 authorization server metadata and OpenID Connect Discovery 1.0. */
import type { FastifyInstance } from 'fastify';
import { MFA_GRANT, PASSKEY_GRANT, SIGN_IN_LINK_GRANT, type Portcullis } from '../../core/portcullis.js';
import { IDENTITY_CLAIMS } from '../../core/oidc/identity-claims.js';
import { ID_TOKEN_CLAIMS } from '../../core/oidc/id-tokens.js';
import { IDENTITY_SCOPES } from '../../core/tokens/scopes.js';
import { errorResponses, TAGS } from '../schemas/common-schemas.js';

const jwkSetSchema = {
  type: 'object',
  required: ['keys'],
  properties: {
    keys: {
      type: 'array',
      items: {
        type: 'object',
        // Public members only (RFC 7518 §6, RFC 8037 §2): nothing else can be serialised.
        properties: {
          kty: { type: 'string' },
          kid: { type: 'string' },
          alg: { type: 'string' },
          use: { type: 'string' },
          crv: { type: 'string' },
          x: { type: 'string' },
          y: { type: 'string' },
          n: { type: 'string' },
          e: { type: 'string' },
        },
        additionalProperties: false,
      },
    },
  },
  additionalProperties: false,
} as const;

const metadataSchema = {
  type: 'object',
  properties: {
    issuer: { type: 'string' },
    authorization_endpoint: { type: 'string' },
    token_endpoint: { type: 'string' },
    revocation_endpoint: { type: 'string' },
    introspection_endpoint: { type: 'string' },
    jwks_uri: { type: 'string' },
    grant_types_supported: { type: 'array', items: { type: 'string' } },
    response_types_supported: { type: 'array', items: { type: 'string' } },
    scopes_supported: { type: 'array', items: { type: 'string' } },
    token_endpoint_auth_methods_supported: { type: 'array', items: { type: 'string' } },
    revocation_endpoint_auth_methods_supported: { type: 'array', items: { type: 'string' } },
    introspection_endpoint_auth_methods_supported: { type: 'array', items: { type: 'string' } },
    access_token_signing_alg_values_supported: { type: 'array', items: { type: 'string' } },
    code_challenge_methods_supported: { type: 'array', items: { type: 'string' } },
    authorization_response_iss_parameter_supported: { type: 'boolean' },
  },
  additionalProperties: false,
} as const;

const stringArray = { type: 'array', items: { type: 'string' } } as const;

/** OpenID Connect Discovery 1.0 §3: the authorization server's metadata and OpenID Connect's own members. */
const openIdMetadataSchema = {
  ...metadataSchema,
  required: ['issuer', 'authorization_endpoint', 'jwks_uri', 'response_types_supported', 'subject_types_supported'],
  properties: {
    ...metadataSchema.properties,
    userinfo_endpoint: { type: 'string' },
    subject_types_supported: stringArray,
    id_token_signing_alg_values_supported: stringArray,
    response_modes_supported: stringArray,
    claims_supported: stringArray,
    claims_parameter_supported: { type: 'boolean' },
    request_parameter_supported: { type: 'boolean' },
    request_uri_parameter_supported: { type: 'boolean' },
    prompt_values_supported: stringArray,
    end_session_endpoint: { type: 'string' },
    backchannel_logout_supported: { type: 'boolean' },
    backchannel_logout_session_supported: { type: 'boolean' },
  },
} as const;

/**
 * `authorizationEndpoint`: GET /authorize is served (the standalone server with its hosted pages):
 * the metadata then lists it and the authorization code grant; without it neither is.
 */
export function registerDiscoveryRoutes(
  app: FastifyInstance,
  portcullis: Portcullis,
  options: { readonly authorizationEndpoint?: boolean } = {},
): void {
  const { config } = portcullis;
  const issuer = config.issuer.replace(/\/+$/, '');

  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        tags: [TAGS.discovery],
        operationId: 'jwks',
        summary: 'The public signing keys (JWKS)',
        description:
          'RFC 7517: the public keys that verify access tokens, for the asymmetric algorithms; empty with an HMAC `ALGORITHM`. ' +
          'Cacheable for `JWKS_MAX_AGE_SECONDS`.',
        response: { 200: { ...jwkSetSchema, description: 'The JWK Set' }, ...errorResponses() },
      },
    },
    async (_request, reply) => {
      // A next key is published at least this long before it signs (KeyService.rotate), so caches this long are safe.
      reply.header('cache-control', `public, max-age=${config.jwksMaxAgeSeconds}`);
      return portcullis.jwks();
    },
  );

  const metadataRoute = {
    schema: {
      tags: [TAGS.discovery],
      operationId: 'authorizationServerMetadata',
      summary: 'Authorization server metadata',
      description: 'RFC 8414: the endpoints, grant types, scopes and signing algorithm of this server.',
      response: { 200: { ...metadataSchema, description: 'The metadata' }, ...errorResponses() },
    },
  };
  const code = options.authorizationEndpoint === true;
  const serverMetadata = () => {
    const clientAuth = ['client_secret_basic', 'client_secret_post'];
    return {
      issuer: config.issuer,
      ...(code ? { authorization_endpoint: `${issuer}/authorize` } : {}),
      token_endpoint: `${issuer}/token`,
      revocation_endpoint: `${issuer}/revoke`,
      introspection_endpoint: `${issuer}/introspect`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      grant_types_supported: [
        'password',
        'refresh_token',
        'client_credentials',
        ...(code ? ['authorization_code'] : []),
        MFA_GRANT,
        ...(config.signInLinks.enabled ? [SIGN_IN_LINK_GRANT] : []),
        ...(config.webauthn.passkeyLogin ? [PASSKEY_GRANT] : []),
      ],
      response_types_supported: code ? ['code'] : [],
      ...(code ? { code_challenge_methods_supported: ['S256'], authorization_response_iss_parameter_supported: true } : {}),
      scopes_supported: [...(code ? IDENTITY_SCOPES : []), ...config.defaultScopes, 'admin'].filter(
        (scope, i, all) => all.indexOf(scope) === i,
      ),
      token_endpoint_auth_methods_supported: [...clientAuth, 'none'],
      revocation_endpoint_auth_methods_supported: [...clientAuth, 'none'],
      introspection_endpoint_auth_methods_supported: clientAuth,
      access_token_signing_alg_values_supported: [config.algorithm],
    };
  };
  app.get('/.well-known/oauth-authorization-server', metadataRoute, async (_request, reply) => {
    reply.header('cache-control', `public, max-age=${config.jwksMaxAgeSeconds}`);
    return serverMetadata();
  });
  // An OpenID provider only where the code flow is served: discovery lists only what works.
  if (!code) return;
  app.get(
    '/.well-known/openid-configuration',
    {
      schema: {
        tags: [TAGS.discovery],
        operationId: 'openIdConfiguration',
        summary: 'OpenID Connect discovery',
        description:
          'OpenID Connect Discovery 1.0: the authorization server metadata with the OpenID members (userinfo, ID token ' +
          'algorithm, claims). Only with the hosted pages (`HOSTED_PAGES=on`), which serve `/authorize`.',
        response: { 200: { ...openIdMetadataSchema, description: 'The metadata' }, ...errorResponses() },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', `public, max-age=${config.jwksMaxAgeSeconds}`);
      return {
        ...serverMetadata(),
        userinfo_endpoint: `${issuer}/userinfo`,
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: [portcullis.idTokens.algorithm],
        response_modes_supported: ['query'],
        claims_supported: [...IDENTITY_CLAIMS, ...ID_TOKEN_CLAIMS],
        // Discovery's defaults for the last two are true: say what is not built.
        claims_parameter_supported: false,
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
        prompt_values_supported: ['none', 'login', 'consent'],
        // RP-initiated logout is a hosted page beside /authorize; the server's relay sends logout tokens, always with `sid`.
        end_session_endpoint: `${issuer}/end-session`,
        backchannel_logout_supported: true,
        backchannel_logout_session_supported: true,
      };
    },
  );
}
