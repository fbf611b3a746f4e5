/**
 * E-mail verification (issue 14): POST /email/verify uses a verification mail's token;
 * POST /email/verify/resend asks for a new one and always answers 202 alike (the work is done
 * after the answer, core/users/email-verification.ts); PUT /users/me/email asks for a change of
 * address, which takes effect once the new address is verified.
 */
import type { FastifyInstance } from 'fastify';
import type { Portcullis } from '../../core/portcullis.js';
import { userAuth } from '../plugins/authenticate.js';
import { setRateLimitHeaders } from '../plugins/rate-limit.js';
import { actionContext } from '../plugins/request-context.js';
import { detailAnswerSchema } from '../schemas/account-mail-schemas.js';
import { bearerSecurity, ERRORS, errorResponses, noContentSchema, TAGS } from '../schemas/common-schemas.js';
import {
  changeEmailBodySchema,
  verifyEmailBodySchema,
  type ChangeEmailBody,
  type VerifyEmailBody,
} from '../schemas/email-verification-schemas.js';
import { registerAccountMailRoute } from './account-mail-route.js';
import { SIGN_UP_BODY_LIMIT_BYTES } from './user-routes.js';

/** The one answer to every accepted resend, whether or not a mail is sent. */
export const RESEND_VERIFICATION_ANSWER = Object.freeze({
  detail: 'If an account matches and its address is not verified yet, a message with a verification link is on its way',
});

/** The answer to an accepted change of address. */
export const CHANGE_EMAIL_ANSWER = Object.freeze({
  detail: 'A message with a verification link is on its way to the new address; the current address stays until it is verified',
});

export function registerEmailVerificationRoutes(app: FastifyInstance, portcullis: Portcullis): void {
  app.post<{ Body: VerifyEmailBody }>(
    '/email/verify',
    {
      bodyLimit: SIGN_UP_BODY_LIMIT_BYTES,
      schema: {
        tags: [TAGS.users],
        operationId: 'verifyEmail',
        summary: 'Verify an e-mail address with the token of its mail',
        description:
          'No bearer token: the token from the verification mail is the proof (single use, valid EMAIL_VERIFICATION_TTL_HOURS, ' +
          "24 by default). The mail's address becomes the account's, verified, in one transaction; on a change of address " +
          'the old address is told. Tokens issued before carry `email_verified: false` until refreshed.',
        body: verifyEmailBodySchema,
        response: {
          204: noContentSchema,
          ...errorResponses({
            400: 'The token is unknown, used, expired or not a verification token (`Invalid or expired e-mail verification token`)',
            409: 'Another account verified this address first (`ERR_EMAIL_TAKEN`); the token stays unused',
            413: ERRORS.tooLarge,
            415: ERRORS.mediaType,
          }),
        },
      },
    },
    async (request, reply) => {
      await portcullis.verifyEmail(request.body.token, actionContext(request));
      return reply.code(204).header('cache-control', 'no-store').send();
    },
  );

  registerAccountMailRoute(app, {
    path: '/email/verify/resend',
    operationId: 'resendEmailVerification',
    summary: 'Ask for a new verification mail',
    description:
      'Give exactly one of `email` and `username`; no bearer token (for a user that REQUIRE_VERIFIED_EMAIL keeps from ' +
      'logging in). Always 202 with the same body and headers, whether or not the account exists, is disabled, has an ' +
      'address, or has verified it; the look-up and the mail are done after the answer, and no answer leaves before 50 ms. ' +
      "A mail goes only to an account's unverified address, and voids its earlier links. Limited per client address (429) " +
      'and per account (EMAIL_VERIFICATION_MAILS_PER_HOUR: past it, the same 202 and no mail).',
    accepted: 'Accepted: a mail is sent if an account matches and needs one',
    answer: RESEND_VERIFICATION_ANSWER,
    request: (who, context) => portcullis.resendEmailVerification(who, context),
  });

  app.put<{ Body: ChangeEmailBody }>(
    '/users/me/email',
    {
      bodyLimit: SIGN_UP_BODY_LIMIT_BYTES,
      // After authentication; the current password is guarded as a login's (core's changeOwnEmail).
      preHandler: app.requireUser(),
      schema: {
        tags: [TAGS.users],
        security: bearerSecurity(),
        operationId: 'changeEmail',
        summary: 'Change the e-mail address',
        description:
          'Needs the current password (a wrong one counts as a failed login: backoff, buckets, challenge). Sends a ' +
          "verification mail to the new address and a notice to the current one, which stays the account's (verified " +
          'if it was) until the new one is verified with POST /email/verify. Whether another account has verified the ' +
          'new address is not said here (the verification answers 409).',
        body: changeEmailBodySchema,
        response: {
          202: { ...detailAnswerSchema, description: 'The verification mail is on its way' },
          ...errorResponses({
            400: 'Current password is incorrect, or the address is invalid or already the verified address of this account',
            401: ERRORS.notAuthenticated,
            403: ERRORS.userOnly,
            413: ERRORS.tooLarge,
            415: ERRORS.mediaType,
            429: ERRORS.rateLimited,
            503: 'Mail is not configured on this server (production without SMTP_URL or MAIL_WEBHOOK_URL)',
          }),
        },
      },
    },
    async (request, reply) => {
      const { email, current_password: currentPassword, challenge_solution: challengeSolution } = request.body;
      await portcullis.changeOwnEmail(
        userAuth(request),
        {
          email,
          currentPassword,
          challengeSolution: challengeSolution || undefined,
          onRateCheck: (check) => setRateLimitHeaders(reply, check),
        },
        actionContext(request),
      );
      reply.code(202).header('cache-control', 'no-store');
      return CHANGE_EMAIL_ANSWER;
    },
  );
}
