/**
 * The admin API's mail routes (ADR 0022): the outbox's counts, as `portcullis mail status` prints
 * them, and a password reset mail for a user, as `portcullis users reset-password` queues it
 * (PasswordResets.sendTo: no rate limit, audited with the admin as the actor). Guarded like every
 * admin route (admin-routes.ts). The token is in the mail only, never in an answer.
 */
import type { FastifyInstance } from 'fastify';
import type { Portcullis } from '../../core/portcullis.js';
import { actionContext } from '../plugins/request-context.js';
import { usernameParamsSchema, type UsernameParams } from '../schemas/admin-schemas.js';
import { mailOutboxSchema, passwordResetSentSchema } from '../schemas/admin-mail-schemas.js';
import { ERRORS, errorResponses } from '../schemas/common-schemas.js';
import { ADMIN_ERRORS, ADMIN_SCHEMA, adminGuards } from './admin-routes.js';

const MAIL_UNAVAILABLE = 'Mail is not configured on this server (production without SMTP_URL or MAIL_WEBHOOK_URL)';

export function registerAdminMailRoutes(app: FastifyInstance, portcullis: Portcullis): void {
  const guarded = adminGuards(app);

  app.get(
    '/admin/mail/outbox',
    {
      ...guarded,
      schema: {
        ...ADMIN_SCHEMA,
        operationId: 'adminMailOutbox',
        summary: 'Count the mail outbox',
        description:
          'What `portcullis mail status` prints: messages queued (and, of them, being sent), sent and given up on, and the ' +
          'age of the oldest queued one. Sent and given-up messages are counted for MAIL_OUTBOX_RETENTION_DAYS, then deleted.',
        response: { 200: { ...mailOutboxSchema, description: 'The counts' }, ...errorResponses(ADMIN_ERRORS) },
      },
    },
    async () => {
      const stats = await portcullis.mailOutboxStats();
      return {
        queued: stats.queued,
        sending: stats.sending,
        sent: stats.sent,
        failed: stats.failed,
        oldest_queued_age_seconds: stats.oldestQueuedAgeMs / 1000,
      };
    },
  );

  app.post<{ Params: UsernameParams }>(
    '/admin/users/:username/password-reset',
    {
      ...guarded,
      schema: {
        ...ADMIN_SCHEMA,
        operationId: 'adminSendPasswordReset',
        summary: 'Send a user a password reset mail',
        description:
          "A reset token and the mail that carries it, queued in one transaction for the user's e-mail address (the relays " +
          'send it), as `portcullis users reset-password` does; no rate limit. No request body. The token is in the mail only.',
        params: usernameParamsSchema,
        response: {
          202: { ...passwordResetSentSchema, description: 'Queued' },
          ...errorResponses({
            ...ADMIN_ERRORS,
            400: 'The user is disabled, or has no e-mail address (`detail` says which)',
            404: ERRORS.userNotFound,
            503: MAIL_UNAVAILABLE,
          }),
        },
      },
    },
    async (request, reply) => {
      const user = await portcullis.users.get(request.params.username);
      const to = await portcullis.passwordResets.sendTo(user, actionContext(request));
      reply.code(202);
      return { to };
    },
  );
}
