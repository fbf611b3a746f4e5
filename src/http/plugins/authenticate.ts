/**
 * Bearer authentication for routes: `app.requireAuth(scopes?)` gives a
 * preHandler that checks `Authorization: Bearer <token>` through core and
 * sets `request.auth`. The header is parsed as RFC 6750 §2.1 says: the scheme
 * is case-insensitive, the credential is a token68; a request with two
 * Authorization headers is refused (authorization-header.ts).
 */
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { InvalidTokenError, NotAuthenticatedError } from '../../core/errors.js';
import type { AuthContext, Portcullis, UserAuthContext } from '../../core/portcullis.js';
import { authorizationHeader } from './authorization-header.js';

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext | undefined;
  }
  interface FastifyInstance {
    /** A preHandler: any valid bearer token holding `scopes`. */
    requireAuth(scopes?: readonly string[]): preHandlerAsyncHookHandler;
    /** A preHandler: a user's bearer token (not a service client's) holding `scopes`. */
    requireUser(scopes?: readonly string[]): preHandlerAsyncHookHandler;
  }
}

const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * The bearer credential of an Authorization header: the token, undefined when the header carries
 * none, null when it carries one that is not a token68.
 */
export function bearerCredential(header: string | undefined): string | undefined | null {
  if (header === undefined) return undefined;
  const space = header.indexOf(' ');
  if (space === -1 || header.slice(0, space).toLowerCase() !== 'bearer') return undefined;
  const token = header.slice(space + 1).trim();
  if (token === '') return undefined;
  return TOKEN68.test(token) ? token : null;
}

/** The bearer credential, or undefined when the request carries none. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const token = bearerCredential(authorizationHeader(request.raw.rawHeaders));
  if (token === null) throw new InvalidTokenError();
  return token;
}

async function authenticateRequest(portcullis: Portcullis, request: FastifyRequest, scopes: readonly string[]): Promise<AuthContext> {
  const token = bearerToken(request);
  if (token === undefined) throw new NotAuthenticatedError();
  const context = await portcullis.authenticate(token);
  request.auth = context;
  if (scopes.length > 0) portcullis.requireScopes(context, scopes);
  return context;
}

export function registerAuthentication(app: FastifyInstance, portcullis: Portcullis): void {
  app.decorateRequest('auth', undefined);
  app.decorate('requireAuth', (scopes: readonly string[] = []): preHandlerAsyncHookHandler => {
    return async (request) => {
      await authenticateRequest(portcullis, request, scopes);
    };
  });
  app.decorate('requireUser', (scopes: readonly string[] = []): preHandlerAsyncHookHandler => {
    // One function, not requireAuth's wrapped in another: this is the hot path of /users/me.
    return async (request) => {
      portcullis.requireUser(await authenticateRequest(portcullis, request, scopes));
    };
  });
}

/** The user context a requireUser() preHandler has established. */
export function userAuth(request: FastifyRequest): UserAuthContext {
  const auth = request.auth;
  if (auth?.kind !== 'user') throw new TypeError('route is missing its requireUser() preHandler');
  return auth;
}
