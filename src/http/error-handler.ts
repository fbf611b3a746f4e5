/**
 * The only code that knows HTTP statuses for errors: one table from an
 * error's stable `code` to status, `detail`, OAuth `error` and
 * `WWW-Authenticate`. OAuth endpoints (routes with `config.oauth`) also get
 * RFC 6749 §5.2 `error` / `error_description`. Unknown errors are a 500 with
 * a generic detail, logged with the request id; nothing else ever reaches the
 * client (no stack, no driver message, no credential).
 */
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  InsufficientScopeError,
  InsufficientUserAuthenticationError,
  LoginThrottledError,
  MfaRequiredError,
  OverloadedError,
  PortcullisError,
  RateLimitedError,
  type PortcullisErrorCode,
} from '../core/errors.js';
import { STATUS_CODES } from './node-http.js';
import { setRateLimitHeaders } from './plugins/rate-limit.js';

export interface ErrorMapping {
  readonly status: number;
  /** undefined = the error's own message, which core keeps free of secrets. */
  readonly detail?: string;
  readonly oauthError?: string;
  readonly wwwAuthenticate?: string;
}

/** Core's codes, and two of the HTTP layer's own: a body over the limit (Fastify's), and any other failure. */
export type HttpErrorCode = PortcullisErrorCode | 'ERR_PAYLOAD_TOO_LARGE' | 'ERR_INTERNAL';

/** Every code must have its row: a code without one does not compile. */
export const ERROR_TABLE: Readonly<Record<HttpErrorCode, ErrorMapping>> = Object.freeze({
  ERR_INVALID_REQUEST: { status: 400, oauthError: 'invalid_request' },
  ERR_VALIDATION: { status: 400, oauthError: 'invalid_request' },
  // RFC 6750 §3.1 and RFC 6749 §5.2: a repeated parameter or credential is invalid_request.
  ERR_DUPLICATE_HEADER: { status: 400, oauthError: 'invalid_request' },
  ERR_UNSUPPORTED_GRANT_TYPE: { status: 400, oauthError: 'unsupported_grant_type' },
  ERR_INVALID_CREDENTIALS: { status: 401, oauthError: 'invalid_grant', wwwAuthenticate: 'Bearer' },
  ERR_INACTIVE_USER: { status: 401, oauthError: 'invalid_grant', wwwAuthenticate: 'Bearer' },
  ERR_NOT_AUTHENTICATED: { status: 401, wwwAuthenticate: 'Bearer' },
  ERR_INVALID_TOKEN: { status: 401, oauthError: 'invalid_token', wwwAuthenticate: 'Bearer error="invalid_token"' },
  ERR_INSUFFICIENT_SCOPE: { status: 403, oauthError: 'insufficient_scope' },
  ERR_REGISTRATION_CLOSED: { status: 403, oauthError: 'access_denied' },
  ERR_USER_NOT_FOUND: { status: 404 },
  ERR_NOT_FOUND: { status: 404 },
  ERR_USERNAME_TAKEN: { status: 409 },
  ERR_EMAIL_TAKEN: { status: 409 },
  ERR_PAYLOAD_TOO_LARGE: { status: 413, detail: 'Request body too large', oauthError: 'invalid_request' },
  ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, oauthError: 'invalid_request' },
  ERR_LOGIN_THROTTLED: { status: 429, oauthError: 'temporarily_unavailable' },
  // RFC 6749 has no code for it; temporarily_unavailable (§4.1.2.1) is the nearest, and says "try later".
  ERR_RATE_LIMITED: { status: 429, detail: 'Too many requests', oauthError: 'temporarily_unavailable' },
  ERR_OVERLOADED: { status: 503, oauthError: 'temporarily_unavailable' },
  ERR_STORAGE_UNAVAILABLE: { status: 503, detail: 'Service temporarily unavailable', oauthError: 'temporarily_unavailable' },
  ERR_INVALID_CLIENT: { status: 401, oauthError: 'invalid_client', wwwAuthenticate: 'Basic' },
  ERR_INVALID_REFRESH_TOKEN: { status: 401, oauthError: 'invalid_grant', wwwAuthenticate: 'Bearer' },
  ERR_REFRESH_TOKEN_REUSED: { status: 401, oauthError: 'invalid_grant', wwwAuthenticate: 'Bearer' },
  ERR_INVALID_SCOPE: { status: 400, oauthError: 'invalid_scope' },
  ERR_INVALID_GRANT: { status: 400, oauthError: 'invalid_grant' },
  ERR_UNAUTHORIZED_CLIENT: { status: 400, oauthError: 'unauthorized_client' },
  ERR_WRONG_PASSWORD: { status: 400, oauthError: 'invalid_request' },
  ERR_WRONG_PRINCIPAL: { status: 403, oauthError: 'insufficient_scope', wwwAuthenticate: 'Bearer error="insufficient_scope"' },
  ERR_CLIENT_NAME_TAKEN: { status: 409 },
  ERR_INVALID_RESET_TOKEN: { status: 400, detail: 'Invalid or expired password reset token' },
  ERR_EMAIL_NOT_VERIFIED: { status: 401, oauthError: 'invalid_grant', wwwAuthenticate: 'Bearer' },
  ERR_INVALID_VERIFICATION_TOKEN: { status: 400, detail: 'Invalid or expired e-mail verification token' },
  // RFC 6749 §5.2: an invalid grant is a 400 (the password grant's 401 is the FastAPI guide's).
  ERR_INVALID_SIGN_IN_LINK: { status: 400, detail: 'Invalid, used or expired sign-in link', oauthError: 'invalid_grant' },
  ERR_MAIL_UNAVAILABLE: { status: 503, detail: 'Mail is not configured on this server' },
  // Auth0's MFA answer: a 401 with `mfa_required` (ADR 0024); the body also carries mfa_token and factors.
  ERR_MFA_REQUIRED: { status: 401, oauthError: 'mfa_required', wwwAuthenticate: 'Bearer' },
  ERR_INVALID_MFA_TOKEN: { status: 400, oauthError: 'invalid_grant' },
  ERR_INVALID_OTP: { status: 400, oauthError: 'invalid_grant' },
  ERR_INVALID_WEBAUTHN: { status: 400, oauthError: 'invalid_grant' },
  ERR_INSUFFICIENT_USER_AUTHENTICATION: { status: 401, oauthError: 'insufficient_user_authentication' },
  ERR_INTERNAL: { status: 500, detail: 'Internal Server Error', oauthError: 'server_error' },
});

/** Added to a throttled password login's detail when SIGN_IN_LINKS=on (docs/SECURITY.md, "No lockout"). */
export const SIGN_IN_LINK_HINT = '; or ask for a sign-in link by e-mail, which needs no work';

const UNSUPPORTED_MEDIA_TYPE_DETAIL = 'Unsupported Content-Type; send application/x-www-form-urlencoded or application/json';

interface Resolved {
  readonly code: HttpErrorCode;
  readonly mapping: ErrorMapping;
  readonly detail: string;
}

/** Fastify's own errors (parsing, limits, validation) by their FST_ codes. */
function resolveFastifyError(error: FastifyError): Resolved | undefined {
  if (error.validation) {
    return { code: 'ERR_INVALID_REQUEST', mapping: ERROR_TABLE.ERR_INVALID_REQUEST, detail: describeValidation(error) };
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'ERR_PAYLOAD_TOO_LARGE', mapping: ERROR_TABLE.ERR_PAYLOAD_TOO_LARGE, detail: 'Request body too large' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return {
        code: 'ERR_UNSUPPORTED_MEDIA_TYPE',
        mapping: ERROR_TABLE.ERR_UNSUPPORTED_MEDIA_TYPE,
        detail: UNSUPPORTED_MEDIA_TYPE_DETAIL,
      };
    default:
      break;
  }
  const status = error.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    // Fastify's client errors (bad Content-Length, empty JSON body, aborted body, ...): their messages carry no secrets.
    return { code: 'ERR_INVALID_REQUEST', mapping: { ...ERROR_TABLE.ERR_INVALID_REQUEST, status }, detail: error.message };
  }
  return undefined;
}

function describeValidation(error: FastifyError): string {
  const first = error.validation?.[0];
  if (!first) return 'Invalid request';
  const params = first.params as Record<string, unknown>;
  if (first.keyword === 'required') return `Missing required field: ${String(params.missingProperty)}`;
  if (first.keyword === 'additionalProperties') return `Unknown field: ${String(params.additionalProperty)}`;
  const field = first.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (first.keyword === 'enum' && field) {
    return `${field} must be one of: ${(params.allowedValues as unknown[]).map(String).join(', ')}`;
  }
  return field ? `${field} ${first.message ?? 'is invalid'}` : `Request body ${first.message ?? 'is invalid'}`;
}

export function resolveError(error: unknown): Resolved {
  if (error instanceof PortcullisError) {
    const mapping = ERROR_TABLE[error.code];
    return { code: error.code, mapping, detail: mapping.detail ?? error.message };
  }
  const fastify = error !== null && typeof error === 'object' ? resolveFastifyError(error as FastifyError) : undefined;
  return fastify ?? { code: 'ERR_INTERNAL', mapping: ERROR_TABLE.ERR_INTERNAL, detail: 'Internal Server Error' };
}

export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { code, mapping, detail } = resolveError(error);
  // An overload refusal is expected under a storm and counted by the hashing pool; logging each one
  // (with its stack) would cost more than the refusal itself and flood the log.
  if (mapping.status >= 500 && code !== 'ERR_OVERLOADED') {
    request.log.error({ err: error, code }, 'request failed');
  }
  if (mapping.wwwAuthenticate) reply.header('www-authenticate', mapping.wwwAuthenticate);
  if (error instanceof InsufficientScopeError) {
    reply.header('www-authenticate', `Bearer error="insufficient_scope", scope="${error.requiredScopes.join(' ')}"`);
  }
  if (error instanceof InsufficientUserAuthenticationError) {
    reply.header('www-authenticate', insufficientUserAuthenticationChallenge(error));
  }
  if (error instanceof OverloadedError || error instanceof LoginThrottledError) {
    reply.header('retry-after', String(error.retryAfterSeconds));
  }
  if (code === 'ERR_STORAGE_UNAVAILABLE') reply.header('retry-after', '1');
  if (error instanceof RateLimitedError) {
    reply.header('retry-after', String(error.retryAfterSeconds));
    setRateLimitHeaders(reply, error.check);
  }
  const oauth = (request.routeOptions.config as { oauth?: boolean } | undefined)?.oauth === true;
  const signInLink = (error instanceof LoginThrottledError || error instanceof RateLimitedError) && error.signInLinkAvailable;
  const body: Record<string, unknown> = { detail: signInLink ? `${detail}${SIGN_IN_LINK_HINT}` : detail };
  if (oauth && mapping.oauthError) {
    body.error = mapping.oauthError;
    body.error_description = body.detail;
  }
  if ((error instanceof LoginThrottledError || error instanceof RateLimitedError) && error.challenge !== undefined) {
    body.challenge = error.challenge;
  }
  if (signInLink) body.sign_in_link = true;
  if (error instanceof MfaRequiredError) {
    body.mfa_token = error.mfaToken;
    body.factors = error.factors;
    if (error.webauthnOptions !== undefined) body.webauthn = error.webauthnOptions;
    if (error.enrolmentRequired) body.enrolment_required = true;
  }
  if (error instanceof InsufficientUserAuthenticationError) {
    body.error = 'insufficient_user_authentication';
    if (error.maxAgeSeconds !== undefined) body.max_age = error.maxAgeSeconds;
    if (error.acrValues !== undefined) body.acr_values = error.acrValues.join(' ');
  }
  return reply.code(mapping.status).type('application/json; charset=utf-8').send(body);
}

/** RFC 9470 §3: `Bearer error="insufficient_user_authentication"` with what would be enough. */
export function insufficientUserAuthenticationChallenge(error: InsufficientUserAuthenticationError): string {
  const parts = ['error="insufficient_user_authentication"', `error_description="${error.message.replace(/["\\]/g, '')}"`];
  if (error.acrValues !== undefined) parts.push(`acr_values="${error.acrValues.join(' ')}"`);
  if (error.maxAgeSeconds !== undefined) parts.push(`max_age=${error.maxAgeSeconds}`);
  return `Bearer ${parts.join(', ')}`;
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((request, reply) => reply.code(404).type('application/json; charset=utf-8').send({ detail: 'Not Found' }));
}

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (Fastify's
 * `clientErrorHandler`): a slow client past HEADERS_TIMEOUT_SECONDS or
 * REQUEST_TIMEOUT_SECONDS gets 408, a header block over MAX_HEADER_BYTES
 * 431, anything unparsable 400; always JSON `{detail}`, then the connection
 * is closed.
 */
export function handleClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, detail] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request timed out']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request header fields too large']
        : [400, 'Malformed HTTP request'];
  const body = JSON.stringify({ detail });
  // As Node does itself: never write into a response that has already begun (internal, but stable since Node 0.x).
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && inFlight?.headersSent !== true) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n' +
        body,
    );
  }
  socket.destroy();
}
