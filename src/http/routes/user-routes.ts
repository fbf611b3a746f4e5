/** The signed-in user's routes: profile, sign-up, password, sessions, logout. */
import type { FastifyInstance } from 'fastify';
import { InvalidRequestError } from '../../core/errors.js';
import type { Portcullis } from '../../core/portcullis.js';
import { toPublicSession } from '../../core/sessions/session.js';
import { toPublicUser } from '../../core/users/user.js';
import { userAuth } from '../plugins/authenticate.js';
import { rateLimit, setRateLimitHeaders } from '../plugins/rate-limit.js';
import { actionContext } from '../plugins/request-context.js';
import { bearerSecurity, ERRORS, errorResponses, noContentSchema, TAGS } from '../schemas/common-schemas.js';
import {
  changePasswordBodySchema,
  logoutQuerySchema,
  publicUserSchema,
  sessionIdParamsSchema,
  sessionListSchema,
  signUpBodySchema,
  type ChangePasswordBody,
  type LogoutQuery,
  type SessionIdParams,
  type SignUpBody,
} from '../schemas/user-schemas.js';

export const SIGN_UP_BODY_LIMIT_BYTES = 16 * 1024;

/** What every route for the signed-in user shares in its schema. */
const signedIn = { tags: [TAGS.users], security: bearerSecurity() };
const signedInErrors = { 401: ERRORS.notAuthenticated, 403: ERRORS.userOnly };

export function registerUserRoutes(app: FastifyInstance, portcullis: Portcullis): void {
  app.get(
    '/users/me',
    {
      preHandler: app.requireUser(),
      schema: {
        ...signedIn,
        operationId: 'getCurrentUser',
        summary: 'The signed-in user',
        description: 'The user the bearer token belongs to. Never a password hash.',
        response: { 200: { ...publicUserSchema, description: 'The user' }, ...errorResponses(signedInErrors) },
      },
    },
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
      schema: {
        tags: [TAGS.users],
        operationId: 'signUp',
        summary: 'Sign up',
        description:
          'Creates a user holding the DEFAULT_SCOPES; open to anyone unless `REGISTRATION=closed`. ' +
          'Usernames are compared case- and width-insensitively.',
        body: signUpBodySchema,
        response: {
          201: { ...publicUserSchema, description: 'The new user' },
          ...errorResponses({
            400: 'An invalid username, e-mail or full name, or a password the policy refuses; `detail` says which rule',
            403: 'Registration is closed',
            409: 'Username already registered',
            413: ERRORS.tooLarge,
            415: ERRORS.mediaType,
            429: ERRORS.rateLimited,
          }),
        },
      },
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
      // After authentication (cheap, no hash): the token says whose account it is. The rate limits, the login
      // backoff and the challenge are core's (changeOwnPassword), as for a login.
      preHandler: app.requireUser(),
      schema: {
        ...signedIn,
        operationId: 'changePassword',
        summary: 'Change the password',
        description:
          'Needs the current password. Ends every other session of the user, and every access token issued before ' +
          '(this session refreshes to get a new one).',
        body: changePasswordBodySchema,
        response: {
          204: noContentSchema,
          ...errorResponses({
            400: 'Current password is incorrect, or the new one is refused by the password policy',
            ...signedInErrors,
            413: ERRORS.tooLarge,
            415: ERRORS.mediaType,
            429: ERRORS.rateLimited,
          }),
        },
      },
    },
    async (request, reply) => {
      const { current_password: currentPassword, new_password: newPassword, challenge_solution: challengeSolution } = request.body;
      await portcullis.changeOwnPassword(
        userAuth(request),
        {
          currentPassword,
          newPassword,
          challengeSolution: challengeSolution || undefined,
          onRateCheck: (check) => setRateLimitHeaders(reply, check),
        },
        actionContext(request),
      );
      return reply.code(204).send();
    },
  );

  app.get(
    '/users/me/sessions',
    {
      preHandler: app.requireUser(),
      schema: {
        ...signedIn,
        operationId: 'listMySessions',
        summary: "The user's sessions",
        description: 'Every live login of the user; `current` marks the one of this token.',
        response: { 200: { ...sessionListSchema, description: 'The sessions' }, ...errorResponses(signedInErrors) },
      },
    },
    async (request, reply) => {
      const auth = userAuth(request);
      reply.header('cache-control', 'no-store');
      return (await portcullis.sessions.listActive(auth.user)).map((session) => toPublicSession(session, auth.session.id));
    },
  );

  app.delete<{ Params: SessionIdParams }>(
    '/users/me/sessions/:id',
    {
      preHandler: app.requireUser(),
      schema: {
        ...signedIn,
        operationId: 'endMySession',
        summary: 'End one of the sessions',
        description: 'Revokes the session: its refresh token, and every access token of it at once.',
        params: sessionIdParamsSchema,
        response: {
          204: noContentSchema,
          ...errorResponses({ ...signedInErrors, 404: 'No such session of this user, or it has already ended' }),
        },
      },
    },
    async (request, reply) => {
      const auth = userAuth(request);
      await portcullis.sessions.revokeOfUser(auth.user, request.params.id, 'revoked_by_user', actionContext(request));
      return reply.code(204).send();
    },
  );

  app.post<{ Querystring: LogoutQuery }>(
    '/logout',
    {
      preHandler: app.requireUser(),
      schema: {
        ...signedIn,
        operationId: 'logout',
        summary: 'Log out',
        description: 'Ends this session (its refresh token and every access token of it); `?scope=global` ends all of them.',
        querystring: logoutQuerySchema,
        response: { 204: noContentSchema, ...errorResponses({ 400: 'scope is neither `local` nor `global`', ...signedInErrors }) },
      },
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
