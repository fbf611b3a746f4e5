/** The signed-in user's routes: profile, sign-up, password, sessions, logout. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InvalidRequestError } from '../../core/errors.js';
import type { Portcullis } from '../../core/portcullis.js';
import { toPublicSession } from '../../core/sessions/session.js';
import { toPublicUser } from '../../core/users/user.js';
import { userAuth } from '../plugins/authenticate.js';
import { rateLimit } from '../plugins/rate-limit.js';
import { actionContext } from '../plugins/request-context.js';
import {
  changePasswordBodySchema,
  errorSchema,
  publicSessionSchema,
  publicUserSchema,
  signUpBodySchema,
  type ChangePasswordBody,
  type SignUpBody,
} from '../schemas/user-schemas.js';

export const SIGN_UP_BODY_LIMIT_BYTES = 16 * 1024;

const errors = { '4xx': errorSchema, '5xx': errorSchema };

function signedInUsername(request: FastifyRequest): string {
  return userAuth(request).user.username;
}

export function registerUserRoutes(app: FastifyInstance, portcullis: Portcullis): void {
  app.get(
    '/users/me',
    { preHandler: app.requireUser(), schema: { response: { 200: publicUserSchema, ...errors } } },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return toPublicUser(userAuth(request).user);
    },
  );

  app.post<{ Body: SignUpBody }>(
    '/users',
    {
      bodyLimit: SIGN_UP_BODY_LIMIT_BYTES,
      preHandler: rateLimit(portcullis, 'sign_up'),
      schema: { body: signUpBodySchema, response: { 201: publicUserSchema, ...errors } },
    },
    async (request, reply) => {
      const { username, password, email, full_name: fullName } = request.body;
      const user = await portcullis.signUp(
        { username, password, email: email ?? null, fullName: fullName ?? null },
        actionContext(request),
      );
      reply.code(201).header('cache-control', 'no-store');
      return toPublicUser(user);
    },
  );

  app.put<{ Body: ChangePasswordBody }>(
    '/users/me/password',
    {
      bodyLimit: SIGN_UP_BODY_LIMIT_BYTES,
      // After authentication (cheap, no hash): the token says whose account it is.
      preHandler: [app.requireUser(), rateLimit(portcullis, 'password_change', signedInUsername)],
      schema: { body: changePasswordBodySchema, response: errors },
    },
    async (request, reply) => {
      const { current_password: current, new_password: next } = request.body;
      await portcullis.changeOwnPassword(userAuth(request), current, next, actionContext(request));
      return reply.code(204).send();
    },
  );

  app.get(
    '/users/me/sessions',
    {
      preHandler: app.requireUser(),
      schema: { response: { 200: { type: 'array', items: publicSessionSchema }, ...errors } },
    },
    async (request, reply) => {
      const auth = userAuth(request);
      reply.header('cache-control', 'no-store');
      return (await portcullis.sessions.listActive(auth.user)).map((session) => toPublicSession(session, auth.session.id));
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/users/me/sessions/:id',
    {
      preHandler: app.requireUser(),
      schema: { params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } } }, response: errors },
    },
    async (request, reply) => {
      const auth = userAuth(request);
      await portcullis.sessions.revokeOfUser(auth.user, request.params.id, 'revoked_by_user', actionContext(request));
      return reply.code(204).send();
    },
  );

  app.post<{ Querystring: { scope?: string } }>(
    '/logout',
    {
      preHandler: app.requireUser(),
      schema: { querystring: { type: 'object', properties: { scope: { type: 'string', maxLength: 16 } } }, response: errors },
    },
    async (request, reply) => {
      const scope = request.query.scope;
      if (scope !== undefined && scope !== 'global' && scope !== 'local') {
        throw new InvalidRequestError('scope must be "global" (every session) or "local" (this session, the default)');
      }
      await portcullis.logout(userAuth(request), scope === 'global', actionContext(request));
      return reply.code(204).send();
    },
  );
}
