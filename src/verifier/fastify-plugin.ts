/**
 * The verifier as a Fastify plugin:
 *
 *   await app.register(portcullisVerifier, { issuer: 'https://auth.example.com' });
 *   app.get('/items', { preHandler: app.requireAuth(['items']) }, (request) => request.verifiedToken);
 *
 * It decorates the registering app (no encapsulation, as fastify-plugin does) with `fastify.requireAuth(scopes?)`
 * and `request.verifiedToken` (not `request.auth`, which the Portcullis server types as its own AuthContext), and
 * answers verifier errors itself (`{"detail": ...}` with their status and WWW-Authenticate).
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { VerifiedToken } from './claims.js';
import { VerifierError } from './errors.js';
import { checkScopes, type VerifierOptions } from './options.js';
import { createVerifier, type Verifier } from './verifier.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified access token, set by a `requireAuth()` preHandler. */
    verifiedToken: VerifiedToken | undefined;
  }
  interface FastifyInstance {
    /** A preHandler: any valid bearer token holding `scopes`. */
    requireAuth(scopes?: readonly string[]): preHandlerAsyncHookHandler;
  }
}

/** The verifier's options, or a verifier already made (to share one cache between apps). */
export type PortcullisVerifierOptions = VerifierOptions | { verifier: Verifier };

export function sendVerifierError(error: VerifierError, reply: FastifyReply): FastifyReply {
  if (error.wwwAuthenticate !== undefined) reply.header('www-authenticate', error.wwwAuthenticate);
  if (error.status === 503) reply.header('retry-after', '1');
  return reply.code(error.status).type('application/json; charset=utf-8').send({ detail: error.detail });
}

/** The options, with the revocation feed's outages logged through the app's logger unless a log is given. */
function withAppLog(fastify: FastifyInstance, options: VerifierOptions): VerifierOptions {
  const revocations = options.revocations;
  if (revocations === undefined || revocations === null || revocations.log !== undefined) return options;
  return { ...options, revocations: { ...revocations, log: (message: string) => fastify.log.warn(message) } };
}

async function plugin(fastify: FastifyInstance, options: PortcullisVerifierOptions): Promise<void> {
  let verifier: Verifier;
  if ('verifier' in options) {
    verifier = options.verifier;
  } else {
    verifier = createVerifier(withAppLog(fastify, options));
    // One the plugin made, the plugin stops (its revocation feed) with the app; a verifier passed in stays its owner's.
    fastify.addHook('onClose', async () => verifier.close());
  }
  fastify.decorateRequest('verifiedToken', undefined);
  fastify.decorate('requireAuth', (scopes: readonly string[] = []): preHandlerAsyncHookHandler => {
    const requiredScopes = checkScopes(scopes, 'requireAuth scopes'); // a bad scope fails at route definition
    return async (request: FastifyRequest, reply: FastifyReply) => {
      try {
        request.verifiedToken = await verifier.verifyRequest(request.headers.authorization, { requiredScopes });
      } catch (error) {
        if (!(error instanceof VerifierError)) throw error;
        if (error.status >= 500) request.log.warn({ err: error }, 'token keys unavailable');
        return sendVerifierError(error, reply);
      }
    };
  });
}

// What fastify-plugin sets: no encapsulation, a name, the Fastify major it needs.
Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'portcullis-verifier',
  [Symbol.for('plugin-meta')]: { name: 'portcullis-verifier', fastify: '5.x' },
});

export const portcullisVerifier: FastifyPluginAsync<PortcullisVerifierOptions> = plugin;
