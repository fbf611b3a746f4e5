/**
 * Passkey login (PASSKEY_LOGIN=on, ADR 0025): POST /signin/passkey hands out the options of an
 * assertion (a fresh challenge, no credential named: the browser offers the user's passkeys for
 * this site); the answer is redeemed at POST /token as the PASSKEY_GRANT (token-routes.ts). With
 * PASSKEY_LOGIN=off the route answers 404 with a detail that says so.
 */
import type { FastifyInstance } from 'fastify';
import { PASSKEY_GRANT, type Portcullis } from '../../core/portcullis.js';
import { rateLimit } from '../plugins/rate-limit.js';
import { ERRORS, errorResponses, TAGS } from '../schemas/common-schemas.js';

const passkeyOptionsSchema = {
  type: 'object',
  required: ['options'],
  properties: {
    options: {
      type: 'object',
      additionalProperties: true,
      description:
        'PublicKeyCredentialRequestOptionsJSON: hand it to `navigator.credentials.get()` (through ' +
        '`PublicKeyCredential.parseRequestOptionsFromJSON`, or `startAuthentication` of @simplewebauthn/browser)',
    },
  },
  additionalProperties: false,
} as const;

export function registerPasskeyRoutes(app: FastifyInstance, portcullis: Portcullis): void {
  app.post(
    '/signin/passkey',
    {
      // The token endpoint's bucket of the client address: each answer stores a challenge.
      preHandler: rateLimit(portcullis, 'token'),
      schema: {
        tags: [TAGS.oauth],
        operationId: 'passkeyLoginOptions',
        summary: 'Start a passkey login',
        description:
          'PASSKEY_LOGIN=on only. No body. The options of an assertion with a fresh challenge (single use, five minutes) and ' +
          "user verification required; send the authenticator's answer to `POST /token` with " +
          `\`grant_type=${PASSKEY_GRANT}\` and \`webauthn_response\`.`,
        response: {
          200: { ...passkeyOptionsSchema, description: 'The options' },
          ...errorResponses({ 404: 'Passkey login is off on this server (PASSKEY_LOGIN=off)', 429: ERRORS.rateLimited }),
        },
      },
    },
    async (_request, reply) => {
      const options = await portcullis.passkeyLoginOptions();
      reply.header('cache-control', 'no-store');
      return { options };
    },
  );
}
