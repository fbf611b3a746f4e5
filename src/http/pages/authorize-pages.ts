/**
 * GET /authorize (RFC 6749 §4.1, OAuth 2.1, PKCE S256 only) and its consent page, on the hosted
 * pages' browser session (ADR 0027, ADR 0028). An unknown client or a redirect URI that is not
 * registered is a page, never a redirect; every other error goes back to the client's redirect URI.
 * Without a session (or with prompt=login, or a session older than max_age) the browser goes to
 * the sign-in page with a return address (return-address.ts) and comes back here. Consent is
 * asked of non-first-party clients, CSRF-protected like every form, and remembered per user and
 * client; the POST that gives it redirects to the client, so its page allows that origin in
 * form-action.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthorizationRequest, AuthorizationQuery } from '../../core/authorization/authorization-request.js';
import { checkAuthorizationRequest } from '../../core/authorization/authorization-request.js';
import type { UserAuthContext } from '../../core/portcullis.js';
import { fieldOf, formFields, formGuard } from './form-guard.js';
import { html } from './html.js';
import { CSRF_FIELD, hidden } from './layout.js';
import type { PageKit } from './page-kit.js';
import { AUTHORIZE_PATH, queryOf, returnAfterSignIn } from './return-address.js';
import { SIGN_IN_PATH } from './sign-in-pages.js';
import { STRINGS } from './strings.js';

export const CONSENT_PATH = '/authorize/consent';

export function registerAuthorizePages(app: FastifyInstance, kit: PageKit): void {
  const { portcullis } = kit;
  const guard = formGuard(kit);
  const check = (query: AuthorizationQuery) => checkAuthorizationRequest(query, (id) => portcullis.clients.byId(id));

  function invalidPage(reply: FastifyReply, reason: 'unknown_client' | 'bad_redirect_uri') {
    const message = reason === 'unknown_client' ? STRINGS.authorize.unknownClient : STRINGS.authorize.badRedirectUri;
    return kit.send(reply, { title: STRINGS.authorize.errorTitle, main: html``, error: message }, 400);
  }

  /** A protocol redirect to the client (RFC 6749 uses 302 Found). */
  function toClient(reply: FastifyReply, location: string, status = 302) {
    return reply.code(status).header('location', location).header('cache-control', 'no-store').send();
  }

  function consentPage(request: FastifyRequest, reply: FastifyReply, authorization: AuthorizationRequest, search: string) {
    const csrf = kit.csrfToken(request, reply);
    kit.allowFormTarget(reply, new URL(authorization.redirectUri).origin);
    const scopes = authorization.scopes;
    const main = html`<p>${STRINGS.authorize.consentIntro(authorization.client.name, portcullis.config.productName)}</p>
      ${
        scopes.length === 0
          ? html`<p>${STRINGS.authorize.consentNoScopes}</p>`
          : html`<p>${STRINGS.authorize.consentScopes}</p>
              <ul>
                ${scopes.map((scope) => html`<li>${STRINGS.authorize.scope(scope)}</li>`)}
              </ul>`
      }
      <form method="post" action="${CONSENT_PATH}">
        ${hidden(CSRF_FIELD, csrf)} ${hidden('request', search)}
        <button type="submit" name="decision" value="allow">${STRINGS.authorize.allow}</button>
        <button type="submit" name="decision" value="deny" class="secondary">${STRINGS.authorize.deny}</button>
      </form>`;
    reply.header('cache-control', 'no-store');
    return kit.send(reply, { title: STRINGS.authorize.consentTitle, main });
  }

  async function answer(request: FastifyRequest, reply: FastifyReply, search: URLSearchParams, auth: UserAuthContext | undefined) {
    const checked = await check(queryOf(search));
    if (checked.kind === 'invalid') return invalidPage(reply, checked.reason);
    if (checked.kind === 'refused') {
      return toClient(reply, portcullis.authorization.refusal(checked.redirectUri, checked.state, checked.error, checked.description));
    }
    const step = await portcullis.authorization.next(checked.request, auth, kit.context(request, auth));
    switch (step.kind) {
      case 'redirect':
        return toClient(reply, step.location);
      case 'sign_in':
        return kit.redirect(reply, `${SIGN_IN_PATH}?return_to=${encodeURIComponent(returnAfterSignIn(search))}`);
      case 'consent':
        return consentPage(request, reply, checked.request, search.toString());
    }
  }

  app.get(AUTHORIZE_PATH, async (request, reply) => {
    const search = new URL(request.url, 'http://portcullis.invalid').searchParams;
    return answer(request, reply, search, await kit.auth(request));
  });

  app.post(CONSENT_PATH, { preHandler: guard }, async (request, reply) => {
    const fields = formFields(request);
    const search = new URLSearchParams(fieldOf(fields, 'request') ?? '');
    const checked = await check(queryOf(search));
    if (checked.kind === 'invalid') return invalidPage(reply, checked.reason);
    if (checked.kind === 'refused') {
      return toClient(reply, portcullis.authorization.refusal(checked.redirectUri, checked.state, checked.error, checked.description), 303);
    }
    const auth = await kit.auth(request);
    if (!auth) return kit.redirect(reply, `${SIGN_IN_PATH}?return_to=${encodeURIComponent(returnAfterSignIn(search))}`);
    const authorization = checked.request;
    if (fieldOf(fields, 'decision') !== 'allow') {
      const location = portcullis.authorization.refusal(
        authorization.redirectUri,
        authorization.state,
        'access_denied',
        'The user denied access',
      );
      return toClient(reply, location, 303);
    }
    return toClient(reply, await portcullis.authorization.consent(authorization, auth, kit.context(request, auth)), 303);
  });
}
