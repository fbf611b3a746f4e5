/**
 * The HTTP answer to an error, for hosts that are not Fastify (Express, Hono,
 * node:http): the status, headers and JSON body the Portcullis server itself
 * sends, as API.md has them. It is computed by the server's own error handler
 * (http/error-handler.ts, the one status table), run against a recorder
 * instead of a Fastify reply, so the two can never disagree.
 */
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { LoginChallenge } from '../core/login/login-challenge.js';
import { sendError } from '../http/error-handler.js';

export interface ErrorResponse {
  readonly status: number;
  /** Lower-case names: `www-authenticate`, `retry-after`, `ratelimit-*`, `content-type`. */
  readonly headers: Readonly<Record<string, string>>;
  /** `{ detail }`, plus `error` and `error_description` for OAuth answers, and a throttled password attempt's `challenge`. */
  readonly body: {
    readonly detail: string;
    readonly error?: string;
    readonly error_description?: string;
    readonly challenge?: LoginChallenge;
  };
}

export interface ErrorResponseOptions {
  /** Add RFC 6749 §5.2 `error` / `error_description`, as a token endpoint does (a login route). */
  readonly oauth?: boolean;
  /** Where a 5xx is logged (the status table logs unexpected errors); default: nowhere, the caller logs. */
  readonly logger?: Pick<FastifyBaseLogger, 'error'>;
}

/** The answer to any error: a Portcullis error by its code; anything else is a 500 with a generic detail. */
export function errorResponse(error: unknown, options: ErrorResponseOptions = {}): ErrorResponse {
  const answer = { status: 500, headers: {} as Record<string, string>, body: { detail: 'Internal Server Error' } as ErrorResponse['body'] };
  const reply = {
    header(name: string, value: string) {
      answer.headers[name.toLowerCase()] = value;
      return reply;
    },
    code(status: number) {
      answer.status = status;
      return reply;
    },
    type(contentType: string) {
      return reply.header('content-type', contentType);
    },
    send(body: ErrorResponse['body']) {
      answer.body = body;
      return reply;
    },
  };
  const request = {
    log: options.logger ?? { error: () => undefined },
    routeOptions: { config: { oauth: options.oauth === true } },
  };
  // sendError uses only these members; error-response.test.ts holds every answer against a real Fastify reply's.
  sendError(error, request as unknown as FastifyRequest, reply as unknown as FastifyReply);
  return answer;
}
