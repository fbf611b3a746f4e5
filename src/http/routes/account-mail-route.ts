/**
 * One route that asks for a mail to an account and answers alike whether or not it exists (issue
 * 14, ADR 0023): POST /password/forgot, POST /email/verify/resend, POST /signin/link. The body
 * names the account by exactly one of `email` and `username`; every accepted request gets the same
 * 202, body and headers (`cache-control: no-store`, the client address's RateLimit-*), and none
 * leaves before the answer floor (answerFloor), whatever core did before answering. Each route
 * gives its path, its OpenAPI words, its answer, its own error rows and the core call.
 */
import type { FastifyInstance } from 'fastify';
import type { ActionContext } from '../../core/action-context.js';
import type { RateCheck } from '../../core/rate-limit/rate-limits.js';
import type { AccountReference } from '../../core/users/find-account.js';
import { answerFloor } from '../plugins/answer-floor.js';
import { setRateLimitHeaders } from '../plugins/rate-limit.js';
import { actionContext } from '../plugins/request-context.js';
import { accountReferenceBodySchema, detailAnswerSchema, type AccountReferenceBody } from '../schemas/account-mail-schemas.js';
import { ERRORS, errorResponses, TAGS } from '../schemas/common-schemas.js';
import { SIGN_UP_BODY_LIMIT_BYTES } from './user-routes.js';

export interface AccountMailRoute {
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description: string;
  /** The 202's description in the document. */
  readonly accepted: string;
  /** The one answer to every accepted request, whether or not a mail is sent. */
  readonly answer: Readonly<{ detail: string }>;
  /** Error rows of this route beside the shared ones (400, 413, 415, 429, 503). */
  readonly errors?: Readonly<Record<number, string>>;
  /** Core's accept step: throws a refusal, or returns the client address's check for the RateLimit-* headers. */
  readonly request: (who: AccountReference, context: ActionContext) => Promise<RateCheck | undefined>;
}

export function registerAccountMailRoute(app: FastifyInstance, route: AccountMailRoute): void {
  app.post<{ Body: AccountReferenceBody }>(
    route.path,
    {
      bodyLimit: SIGN_UP_BODY_LIMIT_BYTES,
      schema: {
        tags: [TAGS.users],
        operationId: route.operationId,
        summary: route.summary,
        description: route.description,
        body: accountReferenceBodySchema,
        response: {
          202: { ...detailAnswerSchema, description: route.accepted },
          ...errorResponses({
            400: 'Neither or both of email and username, or an unknown field',
            413: ERRORS.tooLarge,
            415: ERRORS.mediaType,
            429: ERRORS.rateLimited,
            503: 'Mail is not configured on this server (production without SMTP_URL or MAIL_WEBHOOK_URL)',
            ...route.errors,
          }),
        },
      },
    },
    async (request, reply) => {
      const arrived = performance.now();
      const check = await route.request({ email: request.body.email, username: request.body.username }, actionContext(request));
      if (check) setRateLimitHeaders(reply, check);
      reply.code(202).header('cache-control', 'no-store');
      await answerFloor(arrived);
      return route.answer;
    },
  );
}
