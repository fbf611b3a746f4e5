/**
 * GET /openapi.json (OpenAPI 3.1) and GET /docs (Swagger UI), made from the
 * route schemas by @fastify/swagger: the schemas that validate requests and
 * serialise responses are the ones published. Registered before the routes,
 * so that its onRoute hook sees every one of them. DOCS=off registers neither.
 *
 * Every URL in the document is relative (the server, the token endpoint), so
 * that it stays right behind a proxy that mounts Portcullis under a prefix.
 *
 * @fastify/swagger itself is loaded when the document is first asked for, not
 * at start (see lazySwagger below): at start only what it would record is
 * recorded.
 */
import { createRequire } from 'node:module';
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { FastifySwaggerUiOptions } from '@fastify/swagger-ui';
import type * as SwaggerUiModule from '@fastify/swagger-ui';
import type { FastifyInstance, FastifyPluginAsync, FastifyPluginCallback, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { Config } from '../../core/config.js';
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
function knownScopes(config: Config): Record<string, string> {
  const scopes: Record<string, string> = { [ADMIN_SCOPE]: 'The admin API (/admin/...)' };
  for (const scope of config.defaultScopes) scopes[scope] ??= 'Given to new users (DEFAULT_SCOPES)';
  return scopes;
}

function securitySchemes(config: Config, tokenUrl: string) {
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

/** The options of @fastify/swagger (registered lazily, see lazySwagger). */
export function swaggerOptions(config: Config): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Portcullis',
        version: packageVersion(),
        description:
          'A self-hosted authentication server: password login (the FastAPI JWT guide\'s form-encoded `POST /token`), ' +
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

export async function registerOpenApi(app: FastifyInstance, config: Config): Promise<void> {
  if (!config.docs) return;
  await app.register(lazySwagger, swaggerOptions(config));

  app.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger());

  await app.register(lazySwaggerUi, swaggerUiOptions(config));
}

/** The options of @fastify/swagger-ui (registered lazily, see lazySwaggerUi). */
export function swaggerUiOptions(config: Config): FastifySwaggerUiOptions {
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

type SwaggerFunction = FastifyInstance['swagger'];
type SwaggerHook = (argument: unknown) => unknown;

const requireHere = createRequire(import.meta.url);

/**
 * @fastify/swagger in dynamic mode, loaded when app.swagger() is first called
 * (GET /openapi.json, /docs/json, /docs/yaml) instead of at start, where
 * loading it (with its YAML and JSON-schema resolver dependencies) cost
 * about 40 ms. Until then this plugin records exactly what @fastify/swagger's
 * hooks would have received: every route (onRoute), every encapsulated
 * context (onRegister, whose schemas it reads at ready), and ready itself.
 * On the first call it loads @fastify/swagger, runs the plugin function
 * (its `fastifySwagger` export) against a stand-in that hands it those
 * recordings in order, and from then on answers with the `swagger`
 * function the plugin decorated: the same code on the same input, so the
 * same document. Registered under @fastify/swagger's plugin name, since
 * @fastify/swagger-ui declares it as a dependency.
 */
export const lazySwagger: FastifyPluginCallback<FastifyDynamicSwaggerOptions> = unencapsulated(
  (app: FastifyInstance, options: FastifyDynamicSwaggerOptions, done: (error?: Error) => void) => {
    const recorded: Array<['onRoute', RouteOptions] | ['onRegister', { getSchemas(): Record<string, unknown> }]> = [];
    const contexts: Array<{ instance: FastifyInstance | undefined; schemas?: Record<string, unknown> }> = [];
    let ready = false;
    let swagger: SwaggerFunction | undefined;
    app.addHook('onRoute', (routeOptions) => {
      recorded.push(['onRoute', routeOptions]);
    });
    app.addHook('onRegister', (instance) => {
      // @fastify/swagger reads each context's schemas at ready; so does this, and then lets the context go.
      const context: (typeof contexts)[number] = { instance };
      contexts.push(context);
      recorded.push(['onRegister', { getSchemas: () => context.schemas ?? context.instance?.getSchemas() ?? {} }]);
    });
    app.addHook('onReady', (hookDone) => {
      for (const context of contexts) {
        context.schemas = context.instance?.getSchemas() ?? {};
        context.instance = undefined;
      }
      ready = true;
      hookDone();
    });
    const load = (): SwaggerFunction => {
      const { fastifySwagger } = requireHere('@fastify/swagger') as { fastifySwagger: (instance: unknown, opts: unknown, next: (error?: Error) => void) => void };
      const hooks = new Map<string, SwaggerHook>();
      let decorated: SwaggerFunction | undefined;
      let failure: Error | undefined;
      const standIn = {
        addHook(name: string, hook: SwaggerHook) {
          if (name !== 'onRoute' && name !== 'onRegister' && name !== 'onReady') throw new Error(`lazySwagger: @fastify/swagger added an unexpected ${name} hook`);
          hooks.set(name, hook);
        },
        decorate(name: string, value: SwaggerFunction) {
          if (name !== 'swagger') throw new Error(`lazySwagger: @fastify/swagger decorated an unexpected ${name}`);
          decorated = value;
        },
        getSchemas: () => app.getSchemas(),
      };
      fastifySwagger(standIn, { ...options }, (error) => {
        failure = error;
      });
      if (failure) throw failure;
      for (const [name, argument] of recorded) hooks.get(name)?.(argument);
      recorded.length = 0;
      hooks.get('onReady')?.(() => undefined);
      if (decorated === undefined) throw new Error('lazySwagger: @fastify/swagger decorated no swagger function');
      return decorated;
    };
    app.decorate('swagger', function swaggerDocument(this: FastifyInstance, opts?: { yaml?: boolean }) {
      // As @fastify/swagger says when asked too early.
      if (!ready) throw new Error('.swagger() must be called after .ready()');
      swagger ??= load();
      return (swagger as (this: FastifyInstance, o?: { yaml?: boolean }) => unknown).call(this, opts);
    } as SwaggerFunction);
    done();
  },
  // Its hooks and decorator land on the app it is registered on, as @fastify/swagger's (a fastify-plugin) do.
  '@fastify/swagger',
);

/** What fastify-plugin sets on a plugin: it is not encapsulated, and it is registered under `name`. */
function unencapsulated<T extends object>(plugin: T, name: string): T {
  return Object.assign(plugin, {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: name,
    [Symbol.for('plugin-meta')]: { name, fastify: '5.x' },
  });
}

/** The routes @fastify/swagger-ui registers under its prefix (with these options: no theme files, no baseDir). */
const SWAGGER_UI_ROUTES = ['/', '/static/index.html', '/static/swagger-initializer.js', '/json', '/yaml'] as const;
/** And @fastify/static's, for Swagger UI's own files. */
const SWAGGER_UI_STATIC_ROUTE = '/static/*';
/** As src/http/app.ts routes: the docs app matches URLs as the server does. */
const ROUTER_OPTIONS = { ignoreTrailingSlash: false, caseSensitive: true, maxParamLength: 200 };
const FORWARD_ID = 'x-portcullis-docs-forward';
const NOT_FOUND_MARK = 'x-portcullis-docs-not-found';
/** Set by the connection that carried the docs app's answer, not by the answer itself. */
const NOT_FORWARDED = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', NOT_FOUND_MARK]);

/**
 * @fastify/swagger-ui, loaded when /docs is first asked for instead of at
 * start, where loading it (with @fastify/static, its file-serving stack and
 * the YAML library) cost about 40–100 ms. The server declares the same routes
 * Swagger UI would, with the same prefix, hooks and options (route-level
 * onRequest hook, `schema.hide`, the docs CSP set in an onSend hook after the
 * server's own headers), so the route table, the metrics' route labels and
 * the headers the server adds are unchanged; their handler builds, once, a
 * private Fastify app with the real @fastify/swagger-ui registered exactly as
 * before (its document is the server's app.swagger()), and hands each
 * request to it (light-my-request's inject: method, URL and headers, so
 * conditional and range requests behave as before), then answers with its
 * status, headers and body. A URL the docs app has no file or route for goes
 * to the server's own 404, and an error it meets to the server's error
 * handler, as before. src/http/plugins/openapi.test.ts compares the answers
 * with @fastify/swagger-ui registered at start.
 */
export const lazySwaggerUi: FastifyPluginAsync<FastifySwaggerUiOptions> = async (app, options) => {
  let docsApp: Promise<FastifyInstance> | undefined;
  const failures = new Map<string, unknown>();
  let forwardCount = 0;
  const build = async (): Promise<FastifyInstance> => {
    const { default: Fastify } = await import('fastify');
    // Through require(), as @fastify/swagger above: the bundle leaves it in node_modules (scripts/bundle.mjs).
    const { default: swaggerUi } = requireHere('@fastify/swagger-ui') as typeof SwaggerUiModule;
    const docs = Fastify({ routerOptions: ROUTER_OPTIONS });
    // @fastify/swagger-ui depends on @fastify/swagger by name and reads the document through fastify.swagger().
    await docs.register(
      unencapsulated((instance: FastifyInstance, _options: unknown, done: () => void) => {
        instance.decorate('swagger', ((opts?: { yaml?: boolean }) => (app.swagger as (o?: { yaml?: boolean }) => unknown)(opts)) as FastifyInstance['swagger']);
        done();
      }, '@fastify/swagger'),
    );
    docs.setNotFoundHandler((_request, reply) => {
      reply.header(NOT_FOUND_MARK, '1').code(404).send();
    });
    docs.setErrorHandler((error, request, reply) => {
      failures.set(String(request.headers[FORWARD_ID]), error);
      reply.code(500).send();
    });
    await docs.register(swaggerUi, options);
    await docs.ready();
    return docs;
  };
  /**
   * `method`: the static files route answers HEAD itself; the others are GET routes whose HEAD Fastify
   * derives (running the GET handler, then measuring the body), so the docs app is asked for the GET.
   */
  const forward = async (method: 'GET' | 'HEAD', request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    docsApp ??= build().catch((error: unknown) => {
      docsApp = undefined;
      throw error;
    });
    const docs = await docsApp;
    const id = String(++forwardCount);
    const answer = await docs.inject({ method, url: request.url, headers: { ...request.headers, [FORWARD_ID]: id } });
    const failure = failures.get(id);
    failures.delete(id);
    if (failure !== undefined) throw failure;
    if (answer.headers[NOT_FOUND_MARK] !== undefined) {
      reply.callNotFound();
      return reply;
    }
    reply.code(answer.statusCode);
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value !== undefined && !NOT_FORWARDED.has(name)) reply.header(name, value);
    }
    return answer.rawPayload.length > 0 ? reply.send(answer.rawPayload) : reply.send();
  };
  // @fastify/swagger-ui's staticCSP: on every answer under the prefix, after the server's own headers.
  if (typeof options.staticCSP === 'string') {
    const csp = options.staticCSP.trim();
    app.addHook('onSend', (_request, reply, payload, done) => {
      reply.header('content-security-policy', csp);
      done(null, payload);
    });
  }
  await app.register(
    async (scope) => {
      const hooks = { onRequest: options.uiHooks?.onRequest, preHandler: options.uiHooks?.preHandler };
      for (const url of SWAGGER_UI_ROUTES) {
        scope.route({ url, method: 'GET', schema: { hide: true }, ...hooks, handler: (request, reply) => forward('GET', request, reply) });
      }
      scope.route({
        url: SWAGGER_UI_STATIC_ROUTE,
        method: ['HEAD', 'GET'],
        schema: { hide: true },
        handler: (request, reply) => forward(request.method === 'HEAD' ? 'HEAD' : 'GET', request, reply),
      });
    },
    { prefix: options.routePrefix ?? '/documentation' },
  );
};
