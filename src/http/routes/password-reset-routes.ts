/**
 * Password reset by mail (issue 14): POST /password/forgot asks for a reset mail and always
 * answers 202 alike (the work is done after the answer, core/passwords/password-reset.ts);
 * POST /password/reset sets the password with the mail's token.
 */
import type { FastifyInstance } from 'fastify';
import type { Portcullis } from '../../core/portcullis.js';
import { actionContext } from '../plugins/request-context.js';
import { ERRORS, errorResponses, noContentSchema, TAGS } from '../schemas/common-schemas.js';
import { resetPasswordBodySchema, type ResetPasswordBody } from '../schemas/password-reset-schemas.js';
import { registerAccountMailRoute } from './account-mail-route.js';
import { SIGN_UP_BODY_LIMIT_BYTES } from './user-routes.js';

/** The one answer to every accepted request, whether or not a mail is sent. */
export const FORGOT_PASSWORD_ANSWER = Object.freeze({
  detail: 'If an account matches and has an e-mail address, a message with a reset link is on its way',
});

export function registerPasswordResetRoutes(app: FastifyInstance, portcullis: Portcullis): void {
  registerAccountMailRoute(app, {
    path: '/password/forgot',
    operationId: 'forgotPassword',
    summary: 'Ask for a password reset mail',
    description:
      'Give exactly one of `email` and `username`. Always 202 with the same body and headers, whether or not the ' +
      'account exists, is disabled or has an e-mail address; the look-up and the mail are done after the answer. ' +
      'By e-mail, only an address exactly one account has (compared case-insensitively) finds it. ' +
      'Limited per client address (429) and per account (PASSWORD_RESET_MAILS_PER_HOUR: past it, the same 202 and no mail).',
    accepted: 'Accepted: a mail is sent if an account matches',
    answer: FORGOT_PASSWORD_ANSWER,
    request: (who, context) => portcullis.requestPasswordReset(who, context),
  });

  app.post<{ Body: ResetPasswordBody }>(
    '/password/reset',
    {
      bodyLimit: SIGN_UP_BODY_LIMIT_BYTES,
      schema: {
        tags: [TAGS.users],
        operationId: 'resetPassword',
        summary: 'Set a new password with a reset token',
        description:
          'The token from the reset mail: single use, valid PASSWORD_RESET_TTL_MINUTES (30 by default). The new password ' +
          'must pass the password policy. Ends every session of the user and every access token issued before, and makes ' +
          "the user's other reset tokens unusable.",
        body: resetPasswordBodySchema,
        response: {
          204: noContentSchema,
          ...errorResponses({
            400:
              'The token is unknown, used or expired (`Invalid or expired password reset token`), or the password policy ' +
              'refuses the new password (`detail` says which rule)',
            413: ERRORS.tooLarge,
            415: ERRORS.mediaType,
            503: ERRORS.overloaded,
          }),
        },
      },
    },
    async (request, reply) => {
      await portcullis.resetPassword(request.body.token, request.body.new_password, actionContext(request));
      return reply.code(204).header('cache-control', 'no-store').send();
    },
  );
}
