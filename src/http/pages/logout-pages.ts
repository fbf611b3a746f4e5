/**
 * The end_session_endpoint of OpenID Connect RP-Initiated Logout 1.0: `GET` and `POST /end-session`
 * (a client may send the browser with a link or a form) on the hosted pages' browser session, beside
 * /authorize (ADR 0028). The request is checked in core (end-session-request.ts): a hint that is not
 * our ID token, an unknown client, a client_id the hint was not issued to, or a
 * post_logout_redirect_uri the client has not registered is a page, never a redirect. When the
 * hint's `sid` is this browser's session, the session ends at once (as sign-out ends it: the cookie
 * cleared, the sessions its codes opened ended, their clients sent logout tokens); otherwise the
 * person confirms on a page whose CSRF-protected form posts to /end-session/confirm. Then the browser
 * goes to post_logout_redirect_uri with `state`, or to the signed-out page.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Client } from '../../core/clients/client.js';
import { redirectWith } from '../../core/authorization/authorization-request.js';
import { type EndSessionProblem, type EndSessionQuery, type EndSessionRequest } from '../../core/logout/end-session-request.js';
import type { UserAuthContext } from '../../core/portcullis.js';
import { fieldOf, formFields, formGuard } from './form-guard.js';
import { html } from './html.js';
import { CSRF_FIELD, hidden } from './layout.js';
import type { PageKit } from './page-kit.js';
import { ACCOUNT_PATH, SIGN_IN_PATH } from './sign-in-pages.js';
import { STRINGS } from './strings.js';

/** Not /logout: `POST /logout` is the guide's API (a bearer token ends its session), and a path has one route per method. */
export const LOGOUT_PATH = '/end-session';
export const LOGOUT_CONFIRM_PATH = '/end-session/confirm';

const PROBLEM_STRINGS: Readonly<Record<EndSessionProblem, string>> = Object.freeze({
  bad_hint: STRINGS.logout.badHint,
  unknown_client: STRINGS.logout.unknownClient,
  client_mismatch: STRINGS.logout.clientMismatch,
  bad_redirect_uri: STRINGS.logout.badRedirectUri,
  bad_request: STRINGS.logout.badRequest,
});

export function registerLogoutPages(app: FastifyInstance, kit: PageKit): void {
  const { portcullis } = kit;
  const guard = formGuard(kit);
  const check = (query: EndSessionQuery) => portcullis.checkEndSession(query);

  function invalidPage(reply: FastifyReply, problem: EndSessionProblem) {
    reply.header('cache-control', 'no-store');
    return kit.send(reply, { title: STRINGS.logout.errorTitle, main: html``, error: PROBLEM_STRINGS[problem] }, 400);
  }

  /** Signed out (or never signed in): back to the client that asked, with its state, or the signed-out page. */
  function done(reply: FastifyReply, request: EndSessionRequest, status: 302 | 303) {
    const location =
      request.postLogoutRedirectUri === undefined
        ? `${SIGN_IN_PATH}?done=signed-out`
        : redirectWith(request.postLogoutRedirectUri, { state: request.state });
    return reply.code(status).header('location', location).header('cache-control', 'no-store').send();
  }

  async function endSession(
    request: FastifyRequest,
    reply: FastifyReply,
    auth: UserAuthContext,
    client: Client | undefined,
    confirmed: boolean,
  ) {
    await portcullis.endSessionForClient(auth, client, confirmed, kit.context(request, auth));
    kit.cookies.clearSession(reply);
  }

  function confirmPage(request: FastifyRequest, reply: FastifyReply, logout: EndSessionRequest) {
    const csrf = kit.csrfToken(request, reply);
    if (logout.postLogoutRedirectUri !== undefined) kit.allowFormTarget(reply, new URL(logout.postLogoutRedirectUri).origin);
    const product = portcullis.config.productName;
    const s = STRINGS.logout;
    const main = html`<p>${logout.client === undefined ? s.confirm(product) : s.confirmFor(logout.client.name, product)}</p>
      <p>${s.otherApps}</p>
      <form method="post" action="${LOGOUT_CONFIRM_PATH}">
        ${hidden(CSRF_FIELD, csrf)} ${logout.client === undefined ? '' : hidden('client_id', logout.client.id)}
        ${logout.postLogoutRedirectUri === undefined ? '' : hidden('post_logout_redirect_uri', logout.postLogoutRedirectUri)}
        ${logout.state === undefined ? '' : hidden('state', logout.state)}
        <button type="submit">${s.submit}</button>
      </form>
      <p><a href="${ACCOUNT_PATH}">${s.stay}</a></p>`;
    reply.header('cache-control', 'no-store');
    return kit.send(reply, { title: s.title, main });
  }

  async function answer(request: FastifyRequest, reply: FastifyReply, query: EndSessionQuery, status: 302 | 303) {
    const checked = await check(query);
    if (checked.kind === 'invalid') return invalidPage(reply, checked.problem);
    const logout = checked.request;
    const auth = await kit.auth(request);
    // Nothing to end here: the client is told it is done, as if it had been.
    if (!auth) return done(reply, logout, status);
    // The hint is an ID token of this very session: the client that holds it may end it without asking.
    if (logout.hint?.sid !== undefined && logout.hint.sid === auth.session.id) {
      await endSession(request, reply, auth, logout.client, false);
      return done(reply, logout, status);
    }
    return confirmPage(request, reply, logout);
  }

  app.get(LOGOUT_PATH, async (request, reply) => answer(request, reply, (request.query ?? {}) as EndSessionQuery, 302));

  // A client may send the browser with a form (§2); its fields are the request, so no CSRF token of ours.
  app.post(LOGOUT_PATH, async (request, reply) => answer(request, reply, formFields(request), 303));

  app.post(LOGOUT_CONFIRM_PATH, { preHandler: guard }, async (request, reply) => {
    const fields = formFields(request);
    const checked = await check({
      client_id: fieldOf(fields, 'client_id'),
      post_logout_redirect_uri: fieldOf(fields, 'post_logout_redirect_uri'),
      state: fieldOf(fields, 'state'),
    });
    if (checked.kind === 'invalid') return invalidPage(reply, checked.problem);
    const auth = await kit.auth(request);
    if (auth) await endSession(request, reply, auth, checked.request.client, true);
    return done(reply, checked.request, 303);
  });
}
