/**
 * The admin API: accounts, their sessions, and the audit log (mail: admin-mail-routes.ts). Every route
 * needs a user's bearer token holding the `admin` scope, checked before the
 * request is validated, so that callers without it learn nothing of the
 * schemas. Changes are audited with the admin as the actor.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { toPublicAuditEvent } from '../../core/audit/audit-event.js';
import { InvalidRequestError } from '../../core/errors.js';
import { ISO_TIME_HINT, parseIsoTime } from '../../core/iso-time.js';
import type { Portcullis } from '../../core/portcullis.js';
import { toPublicSession } from '../../core/sessions/session.js';
import { ADMIN_SCOPE } from '../../core/tokens/scopes.js';
import { toPublicUser } from '../../core/users/user.js';
import { actionContext } from '../plugins/request-context.js';
import {
  ADMIN_LIST_LIMIT_DEFAULT,
  ADMIN_LIST_LIMIT_MAX,
  auditPageSchema,
  auditQuerySchema,
  createUserBodySchema,
  listUsersQuerySchema,
  sessionParamsSchema,
  setPasswordBodySchema,
  updateUserBodySchema,
  userPageSchema,
  usernameParamsSchema,
  type AuditQuery,
  type CreateUserBody,
  type ListUsersQuery,
  type SessionParams,
  type SetPasswordBody,
  type UpdateUserBody,
  type UsernameParams,
} from '../schemas/admin-schemas.js';
import { bearerSecurity, ERRORS, errorResponses, noContentSchema, TAGS } from '../schemas/common-schemas.js';
import { publicUserSchema, sessionListSchema } from '../schemas/user-schemas.js';

export { ADMIN_SCOPE };
export const ADMIN_BODY_LIMIT_BYTES = 16 * 1024;

/** What every admin route shares in its schema (admin-mail-routes.ts too). */
export const ADMIN_SCHEMA = { tags: [TAGS.admin], security: bearerSecurity([ADMIN_SCOPE]) };
export const ADMIN_ERRORS = { 401: ERRORS.notAuthenticated, 403: ERRORS.adminOnly };
const admin = ADMIN_SCHEMA;
const adminErrors = ADMIN_ERRORS;
const userErrors = errorResponses({ ...adminErrors, 404: ERRORS.userNotFound });
const invalid = { 400: ERRORS.invalidRequest };
const bodyErrors = { 413: ERRORS.tooLarge, 415: ERRORS.mediaType };

async function noStore(_request: FastifyRequest, reply: FastifyReply): Promise<void> {
  reply.header('cache-control', 'no-store');
}

/** `limit` of a list: a decimal from 1 to ADMIN_LIST_LIMIT_MAX, default ADMIN_LIST_LIMIT_DEFAULT. */
function pageLimit(value: string | undefined): number {
  if (value === undefined) return ADMIN_LIST_LIMIT_DEFAULT;
  const limit = /^[0-9]{1,8}$/.test(value) ? Number(value) : NaN;
  if (!(limit >= 1 && limit <= ADMIN_LIST_LIMIT_MAX)) {
    throw new InvalidRequestError(`limit must be an integer from 1 to ${ADMIN_LIST_LIMIT_MAX}`);
  }
  return limit;
}

function timeParameter(name: 'since' | 'until', value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseIsoTime(value);
  if (ms === undefined) throw new InvalidRequestError(`${name} must be ${ISO_TIME_HINT}`);
  return ms;
}

/** What every admin route shares in its options: the `admin` scope, checked before the request is validated; no caching of the answer. */
export function adminGuards(app: FastifyInstance) {
  return { preValidation: app.requireUser([ADMIN_SCOPE]), onSend: noStore };
}

export function registerAdminRoutes(app: FastifyInstance, portcullis: Portcullis): void {
  const guarded = adminGuards(app);
  const { users, sessions, audit } = portcullis;

  app.get<{ Querystring: ListUsersQuery }>(
    '/admin/users',
    {
      ...guarded,
      schema: {
        ...admin,
        operationId: 'adminListUsers',
        summary: 'List users',
        description: 'A page of users in username order; filter by a username prefix or by `disabled`.',
        querystring: listUsersQuerySchema,
        response: { 200: { ...userPageSchema, description: 'A page of users' }, ...errorResponses({ ...invalid, ...adminErrors }) },
      },
    },
    async (request) => {
      const { prefix, disabled, after } = request.query;
      const page = await users.list({
        limit: pageLimit(request.query.limit),
        ...(prefix === undefined || prefix === '' ? {} : { prefix }),
        ...(disabled === undefined ? {} : { disabled: disabled === 'true' }),
        ...(after === undefined || after === '' ? {} : { after }),
      });
      return { users: page.users.map(toPublicUser), next: page.next ?? null };
    },
  );

  app.get<{ Params: UsernameParams }>(
    '/admin/users/:username',
    {
      ...guarded,
      schema: {
        ...admin,
        operationId: 'adminGetUser',
        summary: 'Get a user',
        params: usernameParamsSchema,
        response: { 200: { ...publicUserSchema, description: 'The user' }, ...userErrors },
      },
    },
    async (request) => toPublicUser(await users.get(request.params.username)),
  );

  app.post<{ Body: CreateUserBody }>(
    '/admin/users',
    {
      ...guarded,
      bodyLimit: ADMIN_BODY_LIMIT_BYTES,
      schema: {
        ...admin,
        operationId: 'adminCreateUser',
        summary: 'Create a user',
        description: 'Works whether or not `REGISTRATION` is open; `scopes` default to DEFAULT_SCOPES. The password policy applies.',
        body: createUserBodySchema,
        response: {
          201: { ...publicUserSchema, description: 'The new user' },
          ...errorResponses({
            ...invalid,
            ...adminErrors,
            409: "Username already registered, or another account's verified address (`ERR_USERNAME_TAKEN`); `email_verified` with an address another account verified (`ERR_EMAIL_TAKEN`)",
            ...bodyErrors,
          }),
        },
      },
    },
    async (request, reply) => {
      const {
        username,
        password,
        email,
        email_verified: emailVerified,
        full_name: fullName,
        scopes,
        disabled,
        mfa_required: mfaRequired,
      } = request.body;
      const user = await users.create(
        {
          username,
          password,
          email: email ?? null,
          ...(emailVerified === undefined ? {} : { emailVerified }),
          fullName: fullName ?? null,
          ...(scopes === undefined ? {} : { scopes }),
          ...(disabled === undefined ? {} : { disabled }),
          ...(mfaRequired === undefined ? {} : { mfaRequired }),
        },
        actionContext(request),
      );
      reply.code(201);
      return toPublicUser(user);
    },
  );

  app.patch<{ Params: UsernameParams; Body: UpdateUserBody }>(
    '/admin/users/:username',
    {
      ...guarded,
      bodyLimit: ADMIN_BODY_LIMIT_BYTES,
      schema: {
        ...admin,
        operationId: 'adminUpdateUser',
        summary: 'Update a user',
        description:
          'Changes the fields given. The tokens of a disabled user are refused at once. `email` sets the address at once, ' +
          'unverified unless `email_verified: true` is given, and voids the verification links mailed before; ' +
          '`email_verified` alone marks the current address verified or not. `mfa_required: true` requires a second factor of ' +
          'the user from their next login on (one without a factor enrols at login, `POST /mfa/enrol`); sessions open now ' +
          'keep working until they end (`DELETE /admin/users/{username}/sessions` ends them).',
        params: usernameParamsSchema,
        body: updateUserBodySchema,
        response: {
          200: { ...publicUserSchema, description: 'The user as updated' },
          ...errorResponses({
            ...invalid,
            ...adminErrors,
            404: ERRORS.userNotFound,
            409: 'Another account has verified this address (`ERR_EMAIL_TAKEN`)',
            ...bodyErrors,
          }),
        },
      },
    },
    async (request) => {
      const { email, email_verified: emailVerified, full_name: fullName, scopes, disabled, mfa_required: mfaRequired } = request.body;
      const user = await users.update(
        request.params.username,
        {
          ...(email === undefined ? {} : { email }),
          ...(emailVerified === undefined ? {} : { emailVerified }),
          ...(fullName === undefined ? {} : { fullName }),
          ...(scopes === undefined ? {} : { scopes }),
          ...(disabled === undefined ? {} : { disabled }),
          ...(mfaRequired === undefined ? {} : { mfaRequired }),
        },
        actionContext(request),
      );
      return toPublicUser(user);
    },
  );

  app.put<{ Params: UsernameParams; Body: SetPasswordBody }>(
    '/admin/users/:username/password',
    {
      ...guarded,
      bodyLimit: ADMIN_BODY_LIMIT_BYTES,
      schema: {
        ...admin,
        operationId: 'adminSetPassword',
        summary: "Set a user's password",
        description: 'The password policy applies. Ends every session of the user and every access token issued before.',
        params: usernameParamsSchema,
        body: setPasswordBodySchema,
        response: {
          204: noContentSchema,
          ...errorResponses({ ...invalid, ...adminErrors, 404: ERRORS.userNotFound, ...bodyErrors }),
        },
      },
    },
    async (request, reply) => {
      // Ends every session of the user and every access token issued before.
      await users.setPassword(request.params.username, request.body.password, actionContext(request));
      return reply.code(204).send();
    },
  );

  app.delete<{ Params: UsernameParams }>(
    '/admin/users/:username',
    {
      ...guarded,
      schema: {
        ...admin,
        operationId: 'adminDeleteUser',
        summary: 'Delete a user',
        description: 'The user and all their sessions; their access tokens stop working at once.',
        params: usernameParamsSchema,
        response: { 204: noContentSchema, ...userErrors },
      },
    },
    async (request, reply) => {
      await users.remove(request.params.username, actionContext(request));
      return reply.code(204).send();
    },
  );

  app.delete<{ Params: UsernameParams }>(
    '/admin/users/:username/factors',
    {
      ...guarded,
      schema: {
        ...admin,
        operationId: 'adminResetFactors',
        summary: "Remove a user's second factors",
        description:
          'Removes every second factor and recovery code of the user (a lost phone): their password alone logs in again until ' +
          'they enrol a new one. Audited (`factor.reset`); the user is told by mail (`factors_reset`) when they have an address ' +
          'and mail can be sent. Sessions stay.',
        params: usernameParamsSchema,
        response: {
          200: {
            type: 'object',
            required: ['removed', 'notified'],
            properties: {
              removed: { type: 'integer', description: 'How many factors were removed' },
              notified: { type: 'boolean', description: 'Whether the notice mail was queued' },
            },
            additionalProperties: false,
            description: 'What was done',
          },
          ...userErrors,
        },
      },
    },
    async (request) => portcullis.resetUserFactors(request.params.username, actionContext(request)),
  );

  app.get<{ Params: UsernameParams }>(
    '/admin/users/:username/sessions',
    {
      ...guarded,
      schema: {
        ...admin,
        operationId: 'adminListSessions',
        summary: "List a user's sessions",
        params: usernameParamsSchema,
        response: { 200: { ...sessionListSchema, description: 'The live sessions' }, ...userErrors },
      },
    },
    async (request) => {
      const user = await users.get(request.params.username);
      return (await sessions.listActive(user)).map((session) => toPublicSession(session));
    },
  );

  app.delete<{ Params: UsernameParams }>(
    '/admin/users/:username/sessions',
    {
      ...guarded,
      schema: {
        ...admin,
        operationId: 'adminEndSessions',
        summary: "End all of a user's sessions",
        params: usernameParamsSchema,
        response: { 204: noContentSchema, ...userErrors },
      },
    },
    async (request, reply) => {
      const user = await users.get(request.params.username);
      await sessions.revokeAll(user, 'revoked_by_admin', actionContext(request));
      return reply.code(204).send();
    },
  );

  app.delete<{ Params: SessionParams }>(
    '/admin/users/:username/sessions/:id',
    {
      ...guarded,
      schema: {
        ...admin,
        operationId: 'adminEndSession',
        summary: "End one of a user's sessions",
        params: sessionParamsSchema,
        response: { 204: noContentSchema, ...errorResponses({ ...adminErrors, 404: 'No such user, or no such session of theirs' }) },
      },
    },
    async (request, reply) => {
      const user = await users.get(request.params.username);
      await sessions.revokeOfUser(user, request.params.id, 'revoked_by_admin', actionContext(request));
      return reply.code(204).send();
    },
  );

  app.get<{ Querystring: AuditQuery }>(
    '/admin/audit',
    {
      ...guarded,
      schema: {
        ...admin,
        operationId: 'adminListAudit',
        summary: 'Read the audit log',
        description: 'A page of audit events, newest first; filter by type, subject, actor, outcome and time.',
        querystring: auditQuerySchema,
        response: { 200: { ...auditPageSchema, description: 'A page of events' }, ...errorResponses({ ...invalid, ...adminErrors }) },
      },
    },
    async (request) => {
      const { type, subject, actor, outcome, before } = request.query;
      const since = timeParameter('since', request.query.since);
      const until = timeParameter('until', request.query.until);
      if (since !== undefined && until !== undefined && since >= until) {
        throw new InvalidRequestError('since must be earlier than until');
      }
      const page = await audit.list({
        limit: pageLimit(request.query.limit),
        ...(type === undefined ? {} : { type }),
        ...(subject === undefined ? {} : { subject }),
        ...(actor === undefined ? {} : { actor }),
        ...(outcome === undefined ? {} : { outcome }),
        ...(since === undefined ? {} : { since }),
        ...(until === undefined ? {} : { until }),
        ...(before === undefined || before === '' ? {} : { before }),
      });
      return { events: page.events.map(toPublicAuditEvent), next: page.next ?? null };
    },
  );
}
