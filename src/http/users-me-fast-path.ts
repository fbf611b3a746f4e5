/**
 * The hot path of the standalone server: `GET /users/me` with a valid bearer token whose session and user this
 * process already holds in its auth cache, answered on node:http before Fastify. It answers only once the route
 * has answered a request it could have taken, with that answer's headers and the route's own serializer
 * (learned in an onSend hook; tests compare both answers byte for byte), and hands every other request to
 * Fastify unchanged. Why it exists, and the measurement it was kept on: ADR 0016.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Portcullis } from '../core/portcullis.js';
import { toPublicUser, type User } from '../core/users/user.js';
import type { RequestObserver } from './metrics/portcullis-metrics.js';
import { bearerCredential } from './plugins/authenticate.js';
import type { RequestLog } from './request-log.js';

export const USERS_ME_ROUTE = '/users/me';

export interface UsersMeFastPathOptions {
  /** The request log, when it is on (LOG_LEVEL info or below); undefined: no line. */
  readonly requestLog?: RequestLog;
}

/** What the route answered with, kept by learn(): its headers (as name, value pairs) and its serializer. */
interface Learned {
  readonly headerPairs: readonly string[];
  readonly serialize: (body: unknown) => string;
}

/** Set per answer by Node or Fastify, never part of what is learned. */
const PER_ANSWER_HEADERS = new Set(['content-length', 'date', 'connection', 'keep-alive', 'transfer-encoding']);

export class UsersMeFastPath {
  /** Set once the server starts closing: from then on Fastify answers (503, `connection: close`). */
  closing = false;
  /** Set when metrics are on. */
  observe: RequestObserver | undefined;
  /** Requests this path has answered (the rest went to Fastify). */
  answered = 0;
  /** Undefined until the route has answered a request this path could have taken. */
  private learned: Learned | undefined;
  /** The answer per user object (the auth cache replaces a user's object whenever it changes). */
  private readonly answers = new WeakMap<User, { readonly body: Buffer; readonly headers: string[] }>();

  constructor(
    private readonly portcullis: Portcullis,
    private readonly options: UsersMeFastPathOptions,
  ) {}

  /**
   * For an onSend hook that runs after every other: when the route answers 200 to a request this path
   * could have taken, keeps that answer's headers and the route's serializer (once: the headers of
   * such an answer depend on the server's settings only).
   */
  learn(request: FastifyRequest, reply: FastifyReply): void {
    if (this.learned !== undefined || this.closing || reply.statusCode !== 200 || request.routeOptions.url !== USERS_ME_ROUTE) return;
    // The route's compiled response serializer (its schema's 200), as Fastify used it for this answer.
    const serialize = reply.getSerializationFunction('200');
    if (serialize === undefined || eligible(request.raw) === undefined) return;
    const headerPairs: string[] = [];
    for (const [name, value] of Object.entries(reply.getHeaders() as OutgoingHttpHeaders)) {
      if (PER_ANSWER_HEADERS.has(name) || value === undefined) continue;
      for (const one of Array.isArray(value) ? value : [value]) headerPairs.push(name, String(one));
    }
    this.learned = { headerPairs, serialize: serialize as (body: unknown) => string };
  }

  /** Answers the request and returns true, or returns false and leaves it untouched for Fastify. */
  handle(request: IncomingMessage, response: ServerResponse): boolean {
    const learned = this.learned;
    if (learned === undefined || this.closing) return false;
    const authorization = eligible(request);
    if (authorization === undefined) return false;
    const started = this.observe !== undefined || this.options.requestLog !== undefined ? performance.now() : 0;
    const user = this.userOf(authorization);
    if (user === undefined) return false;
    const answer = this.answerFor(user, learned);
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

  private answerFor(user: User, learned: Learned): { readonly body: Buffer; readonly headers: string[] } {
    let answer = this.answers.get(user);
    if (answer === undefined) {
      // What the route's handler returns, through the route's serializer.
      const body = Buffer.from(learned.serialize(toPublicUser(user)));
      answer = { body, headers: [...learned.headerPairs, 'content-length', String(body.length)] };
      this.answers.set(user, answer);
    }
    return answer;
  }

  private record(started: number): void {
    const elapsedMs = performance.now() - started;
    this.observe?.(elapsedMs / 1000);
    const requestLog = this.options.requestLog;
    // A request id only where a line will carry it: at `info` a success is counted, not written.
    requestLog?.record(requestLog.linesForSuccesses ? { reqId: randomUUID() } : {}, 'GET', USERS_ME_ROUTE, 200, elapsedMs);
  }
}

/** The Authorization header of a request this path may take (GET /users/me, see fastPathAuthorization), else undefined. */
function eligible(request: IncomingMessage): string | undefined {
  if (request.url !== USERS_ME_ROUTE || request.method !== 'GET') return undefined;
  return fastPathAuthorization(request.rawHeaders);
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
