/**
 * What every hosted page route shares: the brand, the cookies, CSRF tokens, the browser's
 * session (core's browserSession: checked, never rotated), the action context for the audit log,
 * and how a page answers: HTML with the pages' CSP, and a core error turned into a status (the
 * API's, from the error table) and words (strings.ts). Never a stack trace, never a secret.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ActionContext } from '../../core/action-context.js';
import { LoginThrottledError, PortcullisError, RateLimitedError } from '../../core/errors.js';
import type { Portcullis, UserAuthContext } from '../../core/portcullis.js';
import { ERROR_TABLE } from '../error-handler.js';
import { actionContext } from '../plugins/request-context.js';
import { CsrfTokens } from './csrf.js';
import { CSRF_FIELD, renderPage, type Brand, type PageView } from './layout.js';
import { PageCookies } from './page-cookies.js';
import { ERROR_STRINGS, STRINGS } from './strings.js';

/** What a page may have beyond the default: scripts of ours (WebAuthn), data: images (a QR code). */
export interface PageAllowances {
  readonly scripts?: boolean;
  readonly dataImages?: boolean;
  /** An origin the page's forms may end up at after redirects (a client's redirect URI, after /authorize). */
  readonly formTarget?: string | undefined;
}

/**
 * A page's CSP: our stylesheet and images, forms posting to us, nothing else (ADR 0027). A WebAuthn
 * page adds `script-src 'self'` and `connect-src 'self'` (our script files, and a fetch of a passkey
 * login's options); a TOTP enrolment's page adds `img-src data:` for its QR code. Never inline script.
 */
export function pageContentSecurityPolicy(allow: PageAllowances = {}): string {
  return [
    "default-src 'none'",
    ...(allow.scripts ? ["script-src 'self'", "connect-src 'self'"] : []),
    "style-src 'self'",
    allow.dataImages ? "img-src 'self' data:" : "img-src 'self'",
    allow.formTarget === undefined ? "form-action 'self'" : `form-action 'self' ${allow.formTarget}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/** The CSP of every page that has no script and no data: image. */
export const PAGE_CONTENT_SECURITY_POLICY = pageContentSecurityPolicy();

/** A page's refusal: its status and the words shown. */
export interface PageProblem {
  readonly status: number;
  readonly message: string;
  readonly retryAfterSeconds?: number;
}

/** A form's fields; a page form is always application/x-www-form-urlencoded (body-parsers.ts). */
export type FormFields = Readonly<Record<string, string | undefined>>;

export class PageKit {
  readonly cookies: PageCookies;
  private readonly csrf: CsrfTokens;
  /** The pages that were allowed more than the default CSP, until their reply is sent. */
  private readonly policies = new WeakMap<FastifyReply, string>();
  /** Origins a page's forms may end up at after redirects (a client's redirect URI); see allowFormTarget. */
  private readonly formTargets = new WeakMap<FastifyReply, string>();

  constructor(
    readonly portcullis: Portcullis,
    readonly brand: Brand,
    secureCookies: boolean,
  ) {
    this.cookies = new PageCookies(secureCookies, portcullis.config.sessionMaxSeconds);
    this.csrf = new CsrfTokens(portcullis.config.secretKey);
  }

  /** The signed-in user of this browser, if any. */
  async auth(request: FastifyRequest): Promise<UserAuthContext | undefined> {
    const token = this.cookies.sessionToken(request);
    return token === undefined ? undefined : this.portcullis.browserSession(token);
  }

  /** Who acts, for the audit log: the signed-in user, or anonymous. */
  context(request: FastifyRequest, auth?: UserAuthContext): ActionContext {
    const context = actionContext(request);
    return auth === undefined ? context : { ...context, actor: auth.user.username };
  }

  /**
   * The CSRF token for this page's forms. The cookie it is bound to is made on the first page
   * (and when the reply sets a new session cookie, pass it as `session`).
   */
  csrfToken(request: FastifyRequest, reply: FastifyReply, session = this.cookies.sessionToken(request)): string {
    let secret = this.cookies.csrfSecret(request);
    if (secret === undefined) {
      secret = this.csrf.newSecret();
      this.cookies.setCsrfSecret(reply, secret);
    }
    return this.csrf.tokenFor(secret, session);
  }

  /** Whether a form's CSRF field is the token of the cookies it came with. */
  csrfMatches(request: FastifyRequest, fields: FormFields): boolean {
    return this.csrf.matches(fields[CSRF_FIELD], this.cookies.csrfSecret(request), this.cookies.sessionToken(request));
  }

  /**
   * Lets this page's form lead to the origin (a client's redirect URI, after /authorize's
   * redirects): browsers apply form-action to the redirects that follow a form's POST.
   */
  allowFormTarget(reply: FastifyReply, origin: string | undefined): void {
    if (origin !== undefined && /^https?:\/\/[A-Za-z0-9.:[\]-]+$/.test(origin)) this.formTargets.set(reply, origin);
  }

  /** Answers with a page. */
  send(reply: FastifyReply, view: PageView, status = 200): FastifyReply {
    const formTarget = this.formTargets.get(reply);
    const allow = { scripts: (view.scripts?.length ?? 0) > 0, dataImages: view.dataImages === true, formTarget };
    if (allow.scripts || allow.dataImages || formTarget !== undefined) this.policies.set(reply, pageContentSecurityPolicy(allow));
    return reply.code(status).type('text/html; charset=utf-8').send(renderPage(this.brand, view));
  }

  /** The CSP of this reply's page: the default, unless `send` was given a page with scripts, data: images or a form target. */
  contentSecurityPolicy(reply: FastifyReply): string {
    return this.policies.get(reply) ?? PAGE_CONTENT_SECURITY_POLICY;
  }

  /** Answers 303 See Other (after a POST, the browser GETs the next page). */
  redirect(reply: FastifyReply, path: string): FastifyReply {
    return reply.code(303).header('location', path).send();
  }

  /** A core error as a page shows it; anything else is no refusal of the user's and is thrown on. */
  problem(error: unknown, reply?: FastifyReply): PageProblem {
    if (!(error instanceof PortcullisError)) throw error;
    const status = ERROR_TABLE[error.code].status;
    if (error instanceof LoginThrottledError || error instanceof RateLimitedError) {
      reply?.header('retry-after', String(error.retryAfterSeconds));
      // A challenge (proof of work) is not solved by the page: the words say to wait, or to use a link.
      const message =
        error instanceof LoginThrottledError || error.challenge !== undefined
          ? STRINGS.tooManyAttempts(error.retryAfterSeconds, error.signInLinkAvailable)
          : STRINGS.tooManyRequests(error.retryAfterSeconds);
      return { status, message, retryAfterSeconds: error.retryAfterSeconds };
    }
    return { status, message: ERROR_STRINGS[error.code] ?? error.message };
  }
}
