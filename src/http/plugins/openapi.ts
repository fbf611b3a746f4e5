/**
 * GET /openapi.json (OpenAPI 3.1) and GET /docs (Swagger UI), made by @fastify/swagger from the route schemas
 * that validate and serialise requests; registered as their documentation says, before the routes so that its
 * onRoute hook sees every one, and only when DOCS is on (loaded with import()). Every URL in the document is
 * relative, so it stays right behind a proxy that mounts Portcullis under a prefix (ADR 0018).
 */
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { FastifySwaggerUiOptions } from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../core/config.js';
import type { HttpConfig } from '../settings.js';

/** What the OpenAPI document depends on: the scopes it names, and whether it is served at all. */
type OpenApiSettings = Pick<Config, 'defaultScopes'> & Pick<HttpConfig, 'docs'>;
import { packageVersion } from '../../package-info.js';
import { ADMIN_SCOPE } from '../routes/admin-routes.js';
import { SECURITY_SCHEMES, TAGS } from '../schemas/common-schemas.js';
import { DOCS_CONTENT_SECURITY_POLICY } from './security-headers.js';

export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PREFIX = '/docs';

/** Relative to the server URL, as OpenAPI 3.1 says URLs are resolved: `<server>/token`. */
const TOKEN_URL = 'token';
/**
 * Swagger UI resolves a relative tokenUrl against its page (/docs/), not
 * against the server (it only resolves against an absolute server URL), so
 * the document it reads says where the token endpoint is from there.
 */
const DOCS_TOKEN_URL = '../token';

/** The scopes Portcullis gives out: `admin` (the admin API) and DEFAULT_SCOPES (new users). */
function knownScopes(config: OpenApiSettings): Record<string, string> {
  const scopes: Record<string, string> = { [ADMIN_SCOPE]: 'The admin API (/admin/...)' };
  for (const scope of config.defaultScopes) scopes[scope] ??= 'Given to new users (DEFAULT_SCOPES)';
  return scopes;
}

function securitySchemes(config: OpenApiSettings, tokenUrl: string) {
  const scopes = knownScopes(config);
  return {
    [SECURITY_SCHEMES.oauth2]: {
      type: 'oauth2',
      description:
        'Log in at POST /token as a user (password flow: no client needed; leave client_id and client_secret empty) ' +
        'or as a service client (client credentials). The access token is then sent as `Authorization: Bearer`.',
      flows: {
        password: { tokenUrl, refreshUrl: tokenUrl, scopes },
        clientCredentials: { tokenUrl, scopes },
      },
    },
    [SECURITY_SCHEMES.bearer]: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: 'An access token from POST /token (a JWT, `typ: at+jwt`)',
    },
    [SECURITY_SCHEMES.clientBasic]: {
      type: 'http',
      scheme: 'basic',
      description: "A service client's client_id and client_secret (RFC 6749 §2.3.1); or the same fields in the body",
    },
  } as const;
}

const TAG_LIST = [
  { name: TAGS.oauth, description: 'The token endpoint, revocation (RFC 7009), introspection (RFC 7662) and the revocation feed' },
  { name: TAGS.users, description: 'Sign-up, and the signed-in user: profile, password, sessions, logout' },
  { name: TAGS.admin, description: 'User management and the audit log; needs the `admin` scope' },
  { name: TAGS.discovery, description: 'What clients and resource servers need to verify tokens' },
  { name: TAGS.health, description: 'Probes for load balancers and orchestrators' },
];

/** The options of @fastify/swagger. */
export function swaggerOptions(config: OpenApiSettings): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Portcullis',
        version: packageVersion(),
        description:
          "A self-hosted authentication server: password login (the FastAPI JWT guide's form-encoded `POST /token`), " +
          'JWT access tokens, rotating refresh tokens, user management. Every error is JSON with a `detail`.',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      // Relative: the server is wherever this document was fetched from.
      servers: [{ url: '.', description: 'This server' }],
      tags: TAG_LIST,
      components: { securitySchemes: securitySchemes(config, TOKEN_URL) },
    },
    // Base-path stripping needs absolute server URLs; there is no base path to strip anyway.
    stripBasePath: false,
    // Shared schemas (PortcullisError) are listed under components.schemas by their $id.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  };
}

export async function registerOpenApi(app: FastifyInstance, config: OpenApiSettings): Promise<void> {
  if (!config.docs) return;
  const [{ default: swagger }, { default: swaggerUi }] = await Promise.all([import('@fastify/swagger'), import('@fastify/swagger-ui')]);
  await app.register(swagger, swaggerOptions(config));

  app.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger());

  await app.register(swaggerUi, swaggerUiOptions(config));
}

/** The options of @fastify/swagger-ui. */
export function swaggerUiOptions(config: OpenApiSettings): FastifySwaggerUiOptions {
  const docsSecuritySchemes = securitySchemes(config, DOCS_TOKEN_URL);
  return {
    routePrefix: DOCS_PREFIX,
    staticCSP: DOCS_CONTENT_SECURITY_POLICY,
    // Swagger UI reads the document from /docs/json, one level below /openapi.json: the server is `..` from there.
    transformSpecification: (document) => ({
      ...document,
      servers: [{ url: '..', description: 'This server' }],
      components: { ...(document.components as object), securitySchemes: docsSecuritySchemes },
    }),
    uiConfig: {
      // Without the top bar: its logo is an SVG with an inline <style> (refused by the CSP), and its
      // "Explore" box would load documents from elsewhere (refused too).
      layout: 'BaseLayout',
      persistAuthorization: false,
      displayRequestDuration: true,
      defaultModelsExpandDepth: 0,
    },
    uiHooks: {
      // The page's asset links are relative only with the trailing slash; a relative Location keeps a proxy's prefix.
      onRequest: (request, reply, done) => {
        if (request.url === DOCS_PREFIX) {
          void reply.redirect(`${DOCS_PREFIX.slice(1)}/`);
          return;
        }
        done();
      },
    },
    theme: { title: 'Portcullis API' },
  };
}
