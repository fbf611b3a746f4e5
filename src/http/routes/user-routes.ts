import type { FastifyInstance } from 'fastify';
import type { Portcullis } from '../../core/portcullis.js';
import { toPublicUser } from '../../core/users/user.js';
import { errorSchema, publicUserSchema, signUpBodySchema, type SignUpBody } from '../schemas/user-schemas.js';

export const SIGN_UP_BODY_LIMIT_BYTES = 16 * 1024;

export function registerUserRoutes(app: FastifyInstance, portcullis: Portcullis): void {
  app.get(
    '/users/me',
    {
      preHandler: app.requireAuth(),
      schema: { response: { 200: publicUserSchema, '4xx': errorSchema } },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return toPublicUser(request.auth!.user);
    },
  );

  app.post<{ Body: SignUpBody }>(
    '/users',
    {
      bodyLimit: SIGN_UP_BODY_LIMIT_BYTES,
      schema: { body: signUpBodySchema, response: { 201: publicUserSchema, '4xx': errorSchema } },
    },
    async (request, reply) => {
      const { username, password, email, full_name: fullName } = request.body;
      const user = await portcullis.signUp({ username, password, email: email ?? null, fullName: fullName ?? null });
      reply.code(201).header('cache-control', 'no-store');
      return toPublicUser(user);
    },
  );
}
