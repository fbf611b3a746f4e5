/**
 * Portcullis inside an existing Fastify app:
 *
 *   await app.register(portcullis, { prefix: '/auth', secretKey, database: { url: 'sqlite:./auth.db' } });
 *   app.get('/me', { preHandler: app.portcullis.requireAuth() }, (request) => request.user);
 *
 * Every Portcullis route is mounted under `prefix` in an encapsulated child,
 * with its own error handler, body parsers, security headers and validator,
 * so neither app changes the other's behaviour. On the host itself (the
 * plugin skips encapsulation, as fastify-plugin does) it decorates
 * `app.portcullis` (the functions of openPortcullis plus route guards) and
 * `request.user`. The guards answer 401/403 themselves, with the bodies and
 * WWW-Authenticate headers of API.md, so the host's error handler never sees
 * them. Server-level settings (trustProxy and so `request.ip`, timeouts,
 * header limits, request ids, logging) stay the host's.
 */
import type { FastifyInstance, FastifyPluginAsync, preHandlerAsyncHookHandler } from 'fastify';
import { PortcullisError } from '../core/errors.js';
import { parseScopeList } from '../core/tokens/scopes.js';
import { registerPortcullisPlugins, registerPortcullisRoutes } from '../http/app.js';
import { authorizationHeader } from '../http/plugins/authorization-header.js';
import { sendError } from '../http/error-handler.js';
import type { PortcullisOptions } from './embed-options.js';
import { openPortcullis, type AuthenticatedUser, type PortcullisAuth, type VerifyRequestOptions } from './portcullis-auth.js';
import { useStrictValidation } from './route-validation.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Portcullis, registered by the `portcullis` plugin: its functions, and guards for the host's routes. */
    portcullis: FastifyPortcullis;
  }
  interface FastifyRequest {
    /** The user of the bearer token, once a requireAuth() or requireScopes() guard has passed; null elsewhere. */
    user: AuthenticatedUser | null;
  }
}

/** What requireAuth() can demand of the login behind the token (RFC 9470 step-up). */
export interface RequireAuthOptions {
  /** A login completed with a second factor. */
  readonly mfa?: boolean;
  /** A login at most this many seconds old. */
  readonly maxAge?: number;
}

export interface FastifyPortcullis extends PortcullisAuth {
  /**
   * A preHandler: a user's valid bearer token (401 without one or with a bad one); sets `request.user`.
   * With `mfa` or `maxAge`, a login that does not meet them is a 401 with
   * `WWW-Authenticate: Bearer error="insufficient_user_authentication"` (RFC 9470).
   */
  requireAuth(options?: RequireAuthOptions): preHandlerAsyncHookHandler;
  /** A preHandler: as requireAuth, and the token holds every one of `scopes` (403 insufficient_scope otherwise). */
  requireScopes(...scopes: string[]): preHandlerAsyncHookHandler;
}

export interface PortcullisPluginOptions extends PortcullisOptions {
  /**
   * Where the Portcullis routes live: `/auth` gives `POST /auth/token`, `GET /auth/users/me`, ...
   * Required, and not `/`: at the root, its /users and /token would take the host's names, and
   * its 404 handler the host's.
   */
  readonly prefix: string;
}

async function plugin(fastify: FastifyInstance, options: PortcullisPluginOptions): Promise<void> {
  const { prefix, ...portcullisOptions } = options;
  if (typeof prefix !== 'string' || !/^\/[^/]/.test(prefix)) {
    throw new TypeError(`portcullis plugin: prefix must be a path such as '/auth' (got ${JSON.stringify(prefix)})`);
  }
  const auth = await openPortcullis({ logger: fastify.log, ...portcullisOptions });
  fastify.addHook('onClose', () => auth.close());
  try {
    fastify.decorate('portcullis', withGuards(auth));
    fastify.decorateRequest('user', null);
    await fastify.register(
      async (scope) => {
        // Out of the host's own OpenAPI document (@fastify/swagger): the routes name Portcullis's security
        // schemes, which the host's document does not declare, and building it would fail.
        scope.addHook('onRoute', (route) => {
          route.schema = { ...route.schema, hide: true };
        });
        await registerPortcullisPlugins(scope, auth.core, auth.config);
        useStrictValidation(scope);
        registerPortcullisRoutes(scope, auth.core, auth.config);
      },
      { prefix },
    );
  } catch (error) {
    await auth.close();
    throw error;
  }
}

function withGuards(auth: PortcullisAuth): FastifyPortcullis {
  return Object.freeze({
    ...auth,
    requireAuth: (options: RequireAuthOptions = {}) => guard(auth, [], checkedRequirement(options)),
    requireScopes: (...scopes: string[]) => guard(auth, checkedScopes(scopes)),
  });
}

function guard(auth: PortcullisAuth, scopes: readonly string[], login: VerifyRequestOptions = {}): preHandlerAsyncHookHandler {
  return async (request, reply) => {
    try {
      // From the raw headers: two Authorization headers are a 400, not "the first one" (Node's choice).
      request.user = await auth.verifyRequest(authorizationHeader(request.raw.rawHeaders), { scopes, ...login });
    } catch (error) {
      // Answered here, by the server's own error table; anything else is the host's to handle.
      if (!(error instanceof PortcullisError)) throw error;
      return sendError(error, request, reply);
    }
  };
}

/** requireAuth's options as verifyRequest takes them; a bad maxAge is refused where the route is declared. */
function checkedRequirement(options: RequireAuthOptions): VerifyRequestOptions {
  if (options.maxAge !== undefined && !(Number.isInteger(options.maxAge) && options.maxAge >= 0)) {
    throw new TypeError(`requireAuth(): maxAge is a whole number of seconds (got ${JSON.stringify(options.maxAge)})`);
  }
  return { ...(options.mfa === true ? { mfa: true } : {}), ...(options.maxAge === undefined ? {} : { maxAgeSeconds: options.maxAge }) };
}

/** A guard with a malformed scope is a mistake in the host's code: refused where the route is declared. */
function checkedScopes(scopes: readonly string[]): string[] {
  if (scopes.length === 0) throw new TypeError('requireScopes() needs at least one scope; use requireAuth() for none');
  if (!scopes.every((scope) => typeof scope === 'string' && !/[\s,]/.test(scope))) {
    throw new TypeError(`requireScopes(): scopes are separate arguments without spaces or commas (got ${JSON.stringify(scopes)})`);
  }
  return parseScopeList(scopes.join(' '));
}

// What fastify-plugin sets (it is not a dependency of this package): no encapsulation, a name, the Fastify major.
Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'portcullis',
  [Symbol.for('plugin-meta')]: { name: 'portcullis', fastify: '5.x' },
});

/** The Fastify plugin: `app.register(portcullis, { prefix: '/auth', secretKey, database })`. */
export const portcullis: FastifyPluginAsync<PortcullisPluginOptions> = plugin;
