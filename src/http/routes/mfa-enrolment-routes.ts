/**
 * POST /mfa/enrol (issue 15, ADR 0024 "Policy"): enrolment at login. A user whom MFA_POLICY (or
 * their own flag) requires to have a second factor and who has none gets `mfa_required` with
 * `enrolment_required: true` from the first step; with that answer's mfa_token they start
 * enrolling an authenticator app here (as Auth0's `/mfa/associate` takes the mfa_token), then the
 * mfa grant's first code confirms it and completes the login. Refused (`invalid_grant`) for a user
 * who has a factor: a password thief must not add one of their own. Spends one of the token's
 * attempts; the client address's bucket of /token applies. The answer holds the secret: no-store.
 */
import type { FastifyInstance } from 'fastify';
import { InvalidRequestError } from '../../core/errors.js';
import type { Portcullis } from '../../core/portcullis.js';
import { rateLimit } from '../plugins/rate-limit.js';
import { actionContext } from '../plugins/request-context.js';
import { ERRORS, errorResponses, FORM_OR_JSON, TAGS } from '../schemas/common-schemas.js';
import { enrolAtLoginBodySchema, totpEnrolmentSchema, type EnrolAtLoginBody } from '../schemas/factor-schemas.js';
import { totpEnrolmentAnswer } from './factor-routes.js';
import { TOKEN_BODY_LIMIT_BYTES } from './token-routes.js';

export function registerMfaEnrolmentRoutes(app: FastifyInstance, portcullis: Portcullis): void {
  app.post<{ Body: EnrolAtLoginBody }>(
    '/mfa/enrol',
    {
      bodyLimit: TOKEN_BODY_LIMIT_BYTES,
      config: { oauth: true },
      preHandler: rateLimit(portcullis, 'token'),
      schema: {
        tags: [TAGS.oauth],
        consumes: FORM_OR_JSON,
        operationId: 'enrolAtLogin',
        summary: 'Enrol an authenticator app during login (MFA policy)',
        description:
          'For a user whom MFA_POLICY (or their `mfa_required` flag) requires to have a second factor and who has none: the ' +
          'password (or sign-in link) grant answered 401 `mfa_required` with `enrolment_required: true` and an `mfa_token`. ' +
          'This starts a pending TOTP factor bound to that token and answers its `otpauth_uri` and QR code, shown this once; ' +
          'then the mfa grant with `mfa_token` and a first `otp` confirms it, completes the login and answers the tokens with ' +
          "the ten `recovery_codes`. Spends one of the token's five attempts. Refused (`invalid_grant`) when the user has a " +
          'confirmed factor already, and for an mfa_token that is unknown, used, expired or out of attempts.',
        body: enrolAtLoginBodySchema,
        response: {
          201: { ...totpEnrolmentSchema, description: 'The pending factor' },
          ...errorResponses({
            400:
              'Missing `mfa_token` (`invalid_request`); an mfa_token that is unknown, used, expired or out of attempts, or a user ' +
              'who has a second factor already (`invalid_grant`); a refused name, or too many factors (`invalid_request`)',
            413: ERRORS.tooLarge,
            415: ERRORS.mediaType,
            429: ERRORS.rateLimited,
          }),
        },
      },
    },
    async (request, reply) => {
      const body = request.body ?? {};
      const mfaToken = body.mfa_token;
      if (mfaToken === undefined || mfaToken === '') throw new InvalidRequestError('Missing required parameter: mfa_token');
      const name = body.name === undefined || body.name === '' ? undefined : body.name;
      const enrolment = await portcullis.enrolAtLogin(mfaToken, name, actionContext(request));
      reply.code(201).header('cache-control', 'no-store').header('pragma', 'no-cache');
      return totpEnrolmentAnswer(enrolment);
    },
  );
}
