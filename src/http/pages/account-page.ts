/**
 * The account page of the signed-in user: who they are, their sessions (end one), a password
 * change, and their second factors (remove one; add, rename and new recovery codes on the pages of
 * factor-pages.ts). Each form calls the core method the API's
 * /users/me routes call (revokeOfUser, changeOwnPassword with its login defences,
 * removeOwnFactor with its fresh-login rule), as the browser session's user.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { UserAuthContext } from '../../core/portcullis.js';
import type { Session } from '../../core/sessions/session.js';
import type { PublicFactor } from '../../core/factors/factor.js';
import { fieldOf, formFields, formGuard } from './form-guard.js';
import { html } from './html.js';
import { ADD_PASSKEY_PATH, ADD_TOTP_PATH, RECOVERY_CODES_PATH, RENAME_FACTOR_PATH } from './factor-pages.js';
import { field, hidden, link, postForm } from './layout.js';
import type { PageKit, PageProblem } from './page-kit.js';
import { ACCOUNT_PATH, SIGN_IN_PATH, SIGN_OUT_PATH } from './sign-in-pages.js';
import { STRINGS } from './strings.js';

const END_SESSION_PATH = '/account/sessions/end';
const PASSWORD_PATH = '/account/password';
const REMOVE_FACTOR_PATH = '/account/factors/remove';

/** What `/account?done=` may announce: a fixed list, never text from the URL. */
const DONE_NOTICES: Readonly<Record<string, string>> = Object.freeze({
  'session-ended': STRINGS.account.sessionEnded,
  'password-changed': STRINGS.account.passwordChanged,
  'factor-removed': STRINGS.account.factorRemoved,
  'factor-added': STRINGS.account.factorAddedNotice,
  'factor-renamed': STRINGS.account.factorRenamed,
});

/** A time as the page shows it: UTC, to the minute (no script to localise it). */
function when(ms: number | string): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function registerAccountPage(app: FastifyInstance, kit: PageKit): void {
  const { portcullis } = kit;
  const guard = formGuard(kit);

  async function accountPage(
    request: FastifyRequest,
    reply: FastifyReply,
    auth: UserAuthContext,
    state: { problem?: PageProblem; notice?: string },
  ) {
    const csrf = kit.csrfToken(request, reply);
    const { user } = auth;
    const sessions = await portcullis.sessions.listActive(user);
    const { factors, recoveryCodesLeft } = await portcullis.ownFactors(auth);
    const s = STRINGS.account;
    const email = user.email === null ? s.noEmail : `${user.email} (${user.emailVerified ? s.emailVerified : s.emailUnverified})`;
    const main = html`<dl class="profile">
        <dt>${s.signedInAs}</dt>
        <dd>${user.username}</dd>
        <dt>${s.email}</dt>
        <dd>${email}</dd>
      </dl>
      <p><a href="${SIGN_OUT_PATH}">${s.signOut}</a></p>
      <section aria-labelledby="sessions-heading">
        <h2 id="sessions-heading">${s.sessionsHeading}</h2>
        <p>${s.sessionsIntro}</p>
        <ul class="items">
          ${sessions.map((session) => sessionItem(session, auth, csrf))}
        </ul>
      </section>
      <section aria-labelledby="password-heading">
        <h2 id="password-heading">${s.passwordHeading}</h2>
        ${postForm(
          PASSWORD_PATH,
          csrf,
          s.changePassword,
          // A hidden username helps password managers file the new password under the right account.
          html`<input type="text" name="username" value="${user.username}" autocomplete="username" hidden />`,
          field({ name: 'current_password', label: s.currentPassword, type: 'password', autocomplete: 'current-password' }),
          field({ name: 'new_password', label: s.newPassword, type: 'password', autocomplete: 'new-password' }),
        )}
      </section>
      <section aria-labelledby="factors-heading">
        <h2 id="factors-heading">${s.factorsHeading}</h2>
        ${
          factors.length === 0
            ? html`<p>${s.noFactors}</p>`
            : html`<ul class="items">
                ${factors.map((factor) => factorItem(factor, csrf))}
              </ul>`
        }
        ${factors.length === 0 ? '' : html`<p>${s.recoveryCodesLeft(recoveryCodesLeft)}</p>`}
        <ul class="links">
          <li>${link(ADD_TOTP_PATH, s.addTotp)}</li>
          <li>${link(ADD_PASSKEY_PATH, s.addPasskey)}</li>
          ${factors.length === 0 ? '' : html`<li>${link(RECOVERY_CODES_PATH, s.newRecoveryCodes)}</li>`}
        </ul>
      </section>`;
    return kit.send(reply, { title: s.title, main, error: state.problem?.message, notice: state.notice }, state.problem?.status);
  }

  function sessionItem(session: Session, auth: UserAuthContext, csrf: string) {
    const s = STRINGS.account;
    const current = session.id === auth.session.id;
    return html`<li>
      <dl>
        <dt>${s.sessionStarted}</dt>
        <dd>${when(session.createdAt)}${current ? html` <strong>(${s.thisSession})</strong>` : ''}</dd>
        <dt>${s.sessionLastUsed}</dt>
        <dd>${when(session.lastUsedAt)}</dd>
        <dt>${s.sessionFrom}</dt>
        <dd>${session.ip ?? s.sessionUnknown}</dd>
        <dt>${s.sessionDevice}</dt>
        <dd>${session.userAgent ?? s.sessionUnknown}</dd>
      </dl>
      <form method="post" action="${END_SESSION_PATH}">
        ${hidden('csrf_token', csrf)}${hidden('session_id', session.id)}
        <button type="submit" class="secondary" aria-label="${s.endSessionOf(when(session.createdAt))}">${s.endSession}</button>
      </form>
    </li>`;
  }

  function factorItem(factor: PublicFactor, csrf: string) {
    const s = STRINGS.account;
    const kind = s.factorKind[factor.kind] ?? factor.kind;
    return html`<li>
      <p><strong>${factor.name}</strong> · ${kind} · ${s.factorAdded} ${when(factor.created_at)}</p>
      <p><a href="${RENAME_FACTOR_PATH}?factor=${factor.id}" aria-label="${s.renameFactorOf(factor.name)}">${s.renameFactor}</a></p>
      <form method="post" action="${REMOVE_FACTOR_PATH}">
        ${hidden('csrf_token', csrf)}${hidden('factor_id', factor.id)}
        <button type="submit" class="secondary" aria-label="${s.removeFactorOf(factor.name)}">${s.removeFactor}</button>
      </form>
    </li>`;
  }

  app.get<{ Querystring: { done?: string } }>(ACCOUNT_PATH, async (request, reply) => {
    const auth = await kit.auth(request);
    if (!auth) return kit.redirect(reply, SIGN_IN_PATH);
    const done = request.query?.done;
    return accountPage(request, reply, auth, { notice: typeof done === 'string' ? DONE_NOTICES[done] : undefined });
  });

  /** A POST of the account page: signed in, or off to the sign-in page; a refusal re-renders the page with it. */
  function accountAction(
    path: string,
    act: (auth: UserAuthContext, request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>,
  ): void {
    app.post(path, { preHandler: guard }, async (request, reply) => {
      const auth = await kit.auth(request);
      if (!auth) return kit.redirect(reply, SIGN_IN_PATH);
      try {
        return await act(auth, request, reply);
      } catch (error) {
        return accountPage(request, reply, auth, { problem: kit.problem(error, reply) });
      }
    });
  }

  accountAction(END_SESSION_PATH, async (auth, request, reply) => {
    const id = fieldOf(formFields(request), 'session_id') ?? '';
    await portcullis.sessions.revokeOfUser(auth.user, id, 'revoked_by_user', kit.context(request, auth));
    if (id !== auth.session.id) return kit.redirect(reply, `${ACCOUNT_PATH}?done=session-ended`);
    kit.cookies.clearSession(reply);
    return kit.redirect(reply, `${SIGN_IN_PATH}?done=signed-out`);
  });

  accountAction(PASSWORD_PATH, async (auth, request, reply) => {
    const fields = formFields(request);
    await portcullis.changeOwnPassword(
      auth,
      { currentPassword: fieldOf(fields, 'current_password') ?? '', newPassword: fieldOf(fields, 'new_password') ?? '' },
      kit.context(request, auth),
    );
    return kit.redirect(reply, `${ACCOUNT_PATH}?done=password-changed`);
  });

  accountAction(REMOVE_FACTOR_PATH, async (auth, request, reply) => {
    await portcullis.removeOwnFactor(auth, fieldOf(formFields(request), 'factor_id') ?? '', kit.context(request, auth));
    return kit.redirect(reply, `${ACCOUNT_PATH}?done=factor-removed`);
  });
}
