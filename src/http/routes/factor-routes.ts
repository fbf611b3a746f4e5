/**
 * The signed-in user's second factors (issue 15, ADRs 0024, 0025): TOTP enrolment and WebAuthn
 * registration and their confirmation, the list, removal, and new recovery codes. Enrolment and new codes need the current password
 * (guarded as a password change is); removing the last factor needs a fresh login (RFC 9470).
 * Secrets appear in exactly two answers, once each: the otpauth:// URI (and its QR code) of an
 * enrolment, and recovery codes. Every answer is `Cache-Control: no-store`.
 */
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { RateCheck } from '../../core/rate-limit/rate-limits.js';
import QRCode from 'qrcode';
import type { TotpEnrolment } from '../../core/factors/factor-service.js';
import type { Portcullis } from '../../core/portcullis.js';
import { userAuth } from '../plugins/authenticate.js';
import { setRateLimitHeaders } from '../plugins/rate-limit.js';
import { actionContext } from '../plugins/request-context.js';
import { bearerSecurity, ERRORS, errorResponses, noContentSchema, TAGS } from '../schemas/common-schemas.js';
import {
  confirmedFactorSchema,
  confirmTotpBodySchema,
  confirmWebAuthnBodySchema,
  publicFactorSchema,
  renameFactorBodySchema,
  type RenameFactorBody,
  enrolWebAuthnBodySchema,
  webauthnEnrolmentSchema,
  type ConfirmWebAuthnBody,
  type EnrolWebAuthnBody,
  enrolTotpBodySchema,
  factorIdParamsSchema,
  factorListSchema,
  recoveryCodesAnswerSchema,
  regenerateRecoveryCodesBodySchema,
  totpEnrolmentSchema,
  type ConfirmTotpBody,
  type EnrolTotpBody,
  type FactorIdParams,
  type RegenerateRecoveryCodesBody,
} from '../schemas/factor-schemas.js';

const BODY_LIMIT_BYTES = 16 * 1024;
/** A registration's answer carries the authenticator's attestation object. */
const REGISTRATION_BODY_LIMIT_BYTES = 64 * 1024;
const signedIn = { tags: [TAGS.users], security: bearerSecurity() };
const signedInErrors = { 401: ERRORS.notAuthenticated, 403: ERRORS.userOnly };
const bodyErrors = { 413: ERRORS.tooLarge, 415: ERRORS.mediaType };

/** The answer to a TOTP enrolment (here and POST /mfa/enrol): the URI and its QR code, shown this once. */
export async function totpEnrolmentAnswer(
  enrolment: TotpEnrolment,
): Promise<{ id: string; kind: 'totp'; otpauth_uri: string; qr_svg: string }> {
  const qrSvg = await QRCode.toString(enrolment.otpauthUri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return { id: enrolment.id, kind: 'totp', otpauth_uri: enrolment.otpauthUri, qr_svg: qrSvg };
}

/** What starting an enrolment can answer besides 201: both kinds need the current password. */
const enrolmentErrors = errorResponses({
  400: 'Current password is incorrect, or the name is refused, or the user has 10 factors already',
  ...signedInErrors,
  ...bodyErrors,
  429: ERRORS.rateLimited,
});

/** An enrolment's body as core takes it: the current password, guarded as a login (the answer gets the RateLimit-* headers). */
function enrolmentAttempt(body: EnrolTotpBody | EnrolWebAuthnBody, reply: FastifyReply) {
  return {
    currentPassword: body.current_password,
    name: body.name,
    challengeSolution: body.challenge_solution || undefined,
    onRateCheck: (check: RateCheck) => setRateLimitHeaders(reply, check),
  };
}

export function registerFactorRoutes(app: FastifyInstance, portcullis: Portcullis): void {
  app.post<{ Body: EnrolTotpBody }>(
    '/users/me/factors/totp',
    {
      bodyLimit: BODY_LIMIT_BYTES,
      preHandler: app.requireUser(),
      schema: {
        ...signedIn,
        operationId: 'enrolTotp',
        summary: 'Start enrolling an authenticator app (TOTP)',
        description:
          'Needs the current password (a wrong one counts as a failed login: backoff, buckets, challenge). Answers a pending ' +
          'factor: its `otpauth_uri` and a QR code of it, shown this once. Confirm it with a first code within 15 minutes.',
        body: enrolTotpBodySchema,
        response: {
          201: { ...totpEnrolmentSchema, description: 'The pending factor' },
          ...enrolmentErrors,
        },
      },
    },
    async (request, reply) => {
      const enrolment = await portcullis.enrolTotp(userAuth(request), enrolmentAttempt(request.body, reply), actionContext(request));
      reply.code(201).header('cache-control', 'no-store');
      return totpEnrolmentAnswer(enrolment);
    },
  );

  app.post<{ Params: FactorIdParams; Body: ConfirmTotpBody }>(
    '/users/me/factors/totp/:id/confirm',
    {
      bodyLimit: BODY_LIMIT_BYTES,
      preHandler: app.requireUser(),
      schema: {
        ...signedIn,
        operationId: 'confirmTotp',
        summary: 'Confirm an authenticator app with a first code',
        description:
          'Confirms the pending factor: from now on a login needs a second step (`mfa_required`). The first factor comes with ' +
          'ten recovery codes, shown this once.',
        params: factorIdParamsSchema,
        body: confirmTotpBodySchema,
        response: {
          200: { ...confirmedFactorSchema, description: 'The confirmed factor' },
          ...errorResponses({
            400: 'A wrong code (`Invalid one-time code`)',
            ...signedInErrors,
            404: 'No such pending factor of this user (or it waited more than 15 minutes)',
            ...bodyErrors,
          }),
        },
      },
    },
    async (request, reply) => {
      const auth = userAuth(request);
      const { recoveryCodes } = await portcullis.factors.confirmTotp(
        auth.user,
        request.params.id,
        request.body.code,
        actionContext(request),
      );
      reply.header('cache-control', 'no-store');
      return { id: request.params.id, kind: 'totp', ...(recoveryCodes === undefined ? {} : { recovery_codes: recoveryCodes }) };
    },
  );

  app.post<{ Body: EnrolWebAuthnBody }>(
    '/users/me/factors/webauthn',
    {
      bodyLimit: BODY_LIMIT_BYTES,
      preHandler: app.requireUser(),
      schema: {
        ...signedIn,
        operationId: 'enrolWebAuthn',
        summary: 'Start registering a passkey or security key (WebAuthn)',
        description:
          'Needs the current password (a wrong one counts as a failed login: backoff, buckets, challenge). Answers a pending ' +
          'factor and the registration options for `navigator.credentials.create()`; send its answer to ' +
          '`/users/me/factors/webauthn/{id}/confirm` within 15 minutes. The relying party is PUBLIC_URL (WEBAUTHN_RP_ID, ' +
          'WEBAUTHN_ORIGINS); a discoverable credential (a passkey) is asked for where the authenticator can make one.',
        body: enrolWebAuthnBodySchema,
        response: {
          201: { ...webauthnEnrolmentSchema, description: 'The pending factor and its registration options' },
          ...enrolmentErrors,
        },
      },
    },
    async (request, reply) => {
      const enrolment = await portcullis.enrolWebAuthn(userAuth(request), enrolmentAttempt(request.body, reply), actionContext(request));
      reply.code(201).header('cache-control', 'no-store');
      return { id: enrolment.id, kind: 'webauthn', options: enrolment.options };
    },
  );

  app.post<{ Params: FactorIdParams; Body: ConfirmWebAuthnBody }>(
    '/users/me/factors/webauthn/:id/confirm',
    {
      bodyLimit: REGISTRATION_BODY_LIMIT_BYTES,
      preHandler: app.requireUser(),
      schema: {
        ...signedIn,
        operationId: 'confirmWebAuthn',
        summary: "Confirm a passkey or security key with the authenticator's answer",
        description:
          "Checks the authenticator's answer to the pending factor's options (challenge, origin, relying party, signature) " +
          'and keeps its credential: from now on a login needs a second step (`mfa_required`). The first factor comes with ' +
          'ten recovery codes, shown this once.',
        params: factorIdParamsSchema,
        body: confirmWebAuthnBodySchema,
        response: {
          200: { ...confirmedFactorSchema, description: 'The confirmed factor' },
          ...errorResponses({
            400: 'The answer does not verify, or the authenticator is registered already',
            ...signedInErrors,
            404: 'No such pending factor of this user (or it waited more than 15 minutes)',
            ...bodyErrors,
          }),
        },
      },
    },
    async (request, reply) => {
      const response = { clientExtensionResults: {}, ...request.body.response } as RegistrationResponseJSON;
      const { recoveryCodes } = await portcullis.factors.confirmWebAuthn(
        userAuth(request).user,
        request.params.id,
        response,
        actionContext(request),
      );
      reply.header('cache-control', 'no-store');
      return { id: request.params.id, kind: 'webauthn', ...(recoveryCodes === undefined ? {} : { recovery_codes: recoveryCodes }) };
    },
  );

  app.get(
    '/users/me/factors',
    {
      preHandler: app.requireUser(),
      schema: {
        ...signedIn,
        operationId: 'listMyFactors',
        summary: "The user's second factors",
        description: 'The confirmed factors (never a secret) and how many recovery codes are left.',
        response: { 200: { ...factorListSchema, description: 'The factors' }, ...errorResponses(signedInErrors) },
      },
    },
    async (request, reply) => {
      const { factors, recoveryCodesLeft } = await portcullis.ownFactors(userAuth(request));
      reply.header('cache-control', 'no-store');
      return { factors, recovery_codes_left: recoveryCodesLeft };
    },
  );

  app.patch<{ Params: FactorIdParams; Body: RenameFactorBody }>(
    '/users/me/factors/:id',
    {
      bodyLimit: BODY_LIMIT_BYTES,
      preHandler: app.requireUser(),
      schema: {
        ...signedIn,
        operationId: 'renameMyFactor',
        summary: 'Rename a second factor',
        description: 'Renames a confirmed factor (what the list calls it: "Work laptop", "Blue YubiKey").',
        params: factorIdParamsSchema,
        body: renameFactorBodySchema,
        response: {
          200: { ...publicFactorSchema, description: 'The factor' },
          ...errorResponses({ 400: 'The name is refused', ...signedInErrors, 404: 'No such factor of this user', ...bodyErrors }),
        },
      },
    },
    async (request) => portcullis.factors.rename(userAuth(request).user, request.params.id, request.body.name, actionContext(request)),
  );

  app.delete<{ Params: FactorIdParams }>(
    '/users/me/factors/:id',
    {
      preHandler: app.requireUser(),
      schema: {
        ...signedIn,
        operationId: 'removeMyFactor',
        summary: 'Remove a second factor',
        description:
          'Removes a factor (pending or confirmed). Removing the last confirmed one turns the second step off and takes the ' +
          'recovery codes with it: it needs a login within the last 5 minutes, else 401 `insufficient_user_authentication` ' +
          'with `max_age=300` (RFC 9470).',
        params: factorIdParamsSchema,
        response: {
          204: noContentSchema,
          ...errorResponses({
            401: `${ERRORS.notAuthenticated}; or the last factor and a login older than 5 minutes (\`insufficient_user_authentication\`)`,
            403: ERRORS.userOnly,
            404: 'No such factor of this user',
          }),
        },
      },
    },
    async (request, reply) => {
      await portcullis.removeOwnFactor(userAuth(request), request.params.id, actionContext(request));
      return reply.code(204).send();
    },
  );

  app.post<{ Body: RegenerateRecoveryCodesBody }>(
    '/users/me/recovery-codes',
    {
      bodyLimit: BODY_LIMIT_BYTES,
      preHandler: app.requireUser(),
      schema: {
        ...signedIn,
        operationId: 'regenerateRecoveryCodes',
        summary: 'New recovery codes',
        description: 'Needs the current password. Ten new codes replace every earlier one, used or not; shown this once.',
        body: regenerateRecoveryCodesBodySchema,
        response: {
          200: { ...recoveryCodesAnswerSchema, description: 'The new codes' },
          ...errorResponses({
            400: 'Current password is incorrect',
            ...signedInErrors,
            404: 'The user has no second factor',
            ...bodyErrors,
            429: ERRORS.rateLimited,
          }),
        },
      },
    },
    async (request, reply) => {
      const { current_password: currentPassword, challenge_solution: challengeSolution } = request.body;
      const codes = await portcullis.regenerateRecoveryCodes(
        userAuth(request),
        { currentPassword, challengeSolution: challengeSolution || undefined, onRateCheck: (check) => setRateLimitHeaders(reply, check) },
        actionContext(request),
      );
      reply.header('cache-control', 'no-store');
      return { recovery_codes: codes };
    },
  );
}
