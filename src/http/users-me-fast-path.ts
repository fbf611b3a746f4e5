/**
 * The hot path of the standalone server: `GET /users/me` with a valid bearer
 * token whose session and user this process already holds in its auth cache,
 * answered on node:http before Fastify's request lifecycle starts.
 *
 * It answers exactly what the Fastify route would (same status, headers and
 * bytes; tests compare both) and takes nothing else: any other method, URL,
 * a query string, a body, an `Origin` (CORS), a token it cannot verify at
 * once, a cache miss, a refusal, a server shutting down — every such
 * request goes to Fastify unchanged, which gives the full answer (401s with
 * their `detail`, loads from the database, 503 while closing). It counts and
 * times its answers in the same metrics, and writes the same request log
 * line when LOG_LEVEL is info or below.
 *
 * Why: the profile of `/users/me` was dominated by Fastify's per-request work
 * (routing, hooks, promises, schema serialization) rather than by ours; see
 * docs/PERFORMANCE.md for what this path measured.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import type { Portcullis } from '../core/portcullis.js';
import { toPublicUser, type User } from '../core/users/user.js';
import type { RequestObserver } from './metrics/request-metrics.js';
import { bearerCredential } from './plugins/authenticate.js';
import { HSTS_HEADER, SECURITY_HEADERS } from './plugins/security-headers.js';
import { REQUEST_LOG_MESSAGE } from './request-log.js';

export const USERS_ME_ROUTE = '/users/me';

export interface UsersMeFastPathOptions {
  /** Adds Strict-Transport-Security, as the security-headers hook does. */
  readonly hsts: boolean;
  /** Adds `Vary: Origin`, as @fastify/cors does on every response when CORS_ORIGINS is set. */
  readonly varyOrigin: boolean;
  /** The request log, when it is on (LOG_LEVEL info or below); undefined: no line. */
  readonly requestLog?: FastifyBaseLogger;
}

export class UsersMeFastPath {
  /** Set once the server starts closing: from then on Fastify answers (503, `connection: close`). */
  closing = false;
  /** Set when metrics are on. */
  observe: RequestObserver | undefined;
  /** Requests this path has answered (the rest went to Fastify). */
  answered = 0;
  private readonly headerPairs: readonly string[];
  /** The answer per user object (the auth cache replaces a user's object whenever it changes). */
  private readonly answers = new WeakMap<User, { readonly body: Buffer; readonly headers: string[] }>();

  constructor(
    private readonly portcullis: Portcullis,
    private readonly options: UsersMeFastPathOptions,
  ) {
    // In the order the Fastify route sends them.
    this.headerPairs = [
      ...(options.varyOrigin ? ['vary', 'Origin'] : []),
      'cache-control',
      'no-store',
      'content-type',
      'application/json; charset=utf-8',
      ...Object.entries(SECURITY_HEADERS).flat(),
      ...(options.hsts ? ['strict-transport-security', HSTS_HEADER] : []),
    ];
  }

  /** Answers the request and returns true, or returns false and leaves it untouched for Fastify. */
  handle(request: IncomingMessage, response: ServerResponse): boolean {
    if (request.url !== USERS_ME_ROUTE || request.method !== 'GET' || this.closing) return false;
    const authorization = fastPathAuthorization(request.rawHeaders);
    if (authorization === undefined) return false;
    const started = this.observe !== undefined || this.options.requestLog !== undefined ? performance.now() : 0;
    const user = this.userOf(authorization);
    if (user === undefined) return false;
    const answer = this.answerFor(user);
    response.writeHead(200, answer.headers);
    response.end(answer.body);
    this.answered += 1;
    if (started !== 0) this.record(started);
    return true;
  }

  /**
   * The common form, `Bearer <a token verified before>`, is looked up as it is: only compact JWS
   * strings are remembered, so a hit needs no syntax check. Anything else goes through
   * bearerCredential (scheme in any case, the token68 syntax) as Fastify's guard does.
   */
  private userOf(authorization: string): User | undefined {
    if (authorization.startsWith('Bearer ')) {
      const user = this.portcullis.cachedTokenUser(authorization.slice(7), true);
      if (user !== undefined) return user;
    }
    const token = bearerCredential(authorization);
    return typeof token === 'string' ? this.portcullis.cachedTokenUser(token) : undefined;
  }

  private answerFor(user: User): { readonly body: Buffer; readonly headers: string[] } {
    let answer = this.answers.get(user);
    if (answer === undefined) {
      const body = Buffer.from(JSON.stringify(toPublicUser(user)));
      answer = { body, headers: [...this.headerPairs, 'content-length', String(body.length)] };
      this.answers.set(user, answer);
    }
    return answer;
  }

  private record(started: number): void {
    const elapsedMs = performance.now() - started;
    this.observe?.(elapsedMs / 1000);
    this.options.requestLog?.info(
      { reqId: randomUUID(), method: 'GET', route: USERS_ME_ROUTE, status: 200, latencyMs: Math.round(elapsedMs * 100) / 100 },
      REQUEST_LOG_MESSAGE,
    );
  }
}

/**
 * The one Authorization header of a request this path may answer, read from `rawHeaders` (so that
 * Node need not build `request.headers` for it); undefined when there is none, more than one (the
 * route's guard refuses two with 400, as authorization-header.ts says), or a header that makes it
 * Fastify's: `Origin` (CORS), `Content-Length` or `Transfer-Encoding` (a body).
 */
function fastPathAuthorization(raw: readonly string[]): string | undefined {
  let authorization: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // Only names of a length that could match are lower-cased and compared.
    switch (name.length) {
      case 13:
        if (name === 'authorization' || name === 'Authorization' || name.toLowerCase() === 'authorization') {
          if (authorization !== undefined) return undefined;
          authorization = raw[i + 1];
        }
        break;
      case 6:
        if (name.toLowerCase() === 'origin') return undefined;
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') return undefined;
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') return undefined;
        break;
    }
  }
  return authorization;
}
