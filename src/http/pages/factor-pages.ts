/**
 * The account's factor pages (issue 16): add an authenticator app (the current password, then its
 * QR code and key, then a first code), add a passkey or security key (the current password, then
 * the browser's ceremony: the one step with a script, webauthn-page-script.ts), rename a factor, and
 * new recovery codes (the current password). Each form calls the core method the API's
 * /users/me/factors routes call, as the browser session's user, so the password checks, backoff,
 * audit events and limits are the same. Secrets are written into exactly two pages, once each, as
 * the API answers them once: an enrolment's key (with its QR code, a data: image, which that page's
 * CSP alone allows) and recovery codes. Pages are `Cache-Control: no-store`, as every page is.
 */
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { UserAuthContext } from '../../core/portcullis.js';
import { totpEnrolmentAnswer } from '../routes/factor-routes.js';
import { fieldOf, formFields, formGuard } from './form-guard.js';
import { html, type HtmlValue, type SafeHtml } from './html.js';
import { field, hidden, link, postForm } from './layout.js';
import type { FormFields, PageKit, PageProblem } from './page-kit.js';
import { ACCOUNT_PATH, SIGN_IN_PATH } from './sign-in-pages.js';
import { STRINGS } from './strings.js';
import { WEBAUTHN_SCRIPTS, webauthnAnswer, webauthnForm } from './webauthn-page-script.js';

export const ADD_TOTP_PATH = '/account/factors/totp';
export const CONFIRM_TOTP_PATH = '/account/factors/totp/confirm';
export const ADD_PASSKEY_PATH = '/account/factors/webauthn';
export const CONFIRM_PASSKEY_PATH = '/account/factors/webauthn/confirm';
export const RENAME_FACTOR_PATH = '/account/factors/rename';
export const RECOVERY_CODES_PATH = '/account/recovery-codes';

const s = STRINGS.factors;

/** The QR code and the key of a TOTP enrolment (the API's answer to it): shown this once. */
export async function totpSetup(enrolment: Parameters<typeof totpEnrolmentAnswer>[0]): Promise<SafeHtml> {
  const answer = await totpEnrolmentAnswer(enrolment);
  const secret = new URL(answer.otpauth_uri).searchParams.get('secret') ?? '';
  const qr = `data:image/svg+xml;base64,${Buffer.from(answer.qr_svg).toString('base64')}`;
  return html`<p>${s.totpScan}</p>
    <p><img class="qr" src="${qr}" alt="${s.qrAlt}" width="200" height="200" /></p>
    <dl>
      <dt>${s.secretLabel}</dt>
      <dd><code class="secret">${secret.replace(/(.{4})(?=.)/g, '$1 ')}</code></dd>
    </dl>`;
}

/** The field of a TOTP code. */
export function codeField(): SafeHtml {
  return field({ name: 'code', label: s.code, hint: s.codeHint, autocomplete: 'one-time-code', inputmode: 'numeric', autofocus: true });
}

/** Recovery codes, shown this once, and the way on. */
export function recoveryCodesMain(codes: readonly string[], next: string): SafeHtml {
  return html`<p>${s.codesIntro}</p>
    <ul class="codes">
      ${codes.map((code) => html`<li><code>${code}</code></li>`)}
    </ul>
    <p>${link(next, s.codesContinue)}</p>`;
}

export function registerFactorPages(app: FastifyInstance, kit: PageKit): void {
  const { portcullis } = kit;
  const guard = formGuard(kit);

  /** A form that needs the current password (and a hidden username for password managers). */
  function passwordForm(action: string, csrf: string, user: string, submit: string, ...children: HtmlValue[]): SafeHtml {
    return html`${postForm(
        action,
        csrf,
        submit,
        html`<input type="text" name="username" value="${user}" autocomplete="username" hidden />`,
        children,
        field({
          name: 'current_password',
          label: s.currentPassword,
          hint: s.passwordHint,
          type: 'password',
          autocomplete: 'current-password',
        }),
      )}
      <p>${link(ACCOUNT_PATH, s.cancel)}</p>`;
  }

  function nameField(value?: string): SafeHtml {
    return field({ name: 'name', label: s.name, hint: s.nameHint, autocomplete: 'off', required: false, value });
  }

  /** A page of a signed-in user: GET and POST (the POST behind the form guard); else off to the sign-in page. */
  function signedInPage(
    path: string,
    show: (
      auth: UserAuthContext,
      request: FastifyRequest,
      reply: FastifyReply,
      problem?: PageProblem,
      fields?: FormFields,
    ) => Promise<FastifyReply>,
    act: (auth: UserAuthContext, fields: FormFields, request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>,
  ): void {
    app.get(path, async (request, reply) => {
      const auth = await kit.auth(request);
      return auth ? show(auth, request, reply) : kit.redirect(reply, SIGN_IN_PATH);
    });
    app.post(path, { preHandler: guard }, async (request, reply) => {
      const auth = await kit.auth(request);
      if (!auth) return kit.redirect(reply, SIGN_IN_PATH);
      const fields = formFields(request);
      try {
        return await act(auth, fields, request, reply);
      } catch (error) {
        return show(auth, request, reply, kit.problem(error, reply), fields);
      }
    });
  }

  /** A POST that has no page of its own: a refusal is shown on `onRefusal`'s page. */
  function signedInAction(
    path: string,
    act: (auth: UserAuthContext, fields: FormFields, request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>,
    onRefusal: (
      auth: UserAuthContext,
      request: FastifyRequest,
      reply: FastifyReply,
      problem: PageProblem,
      fields: FormFields,
    ) => Promise<FastifyReply>,
  ): void {
    app.post(path, { preHandler: guard }, async (request, reply) => {
      const auth = await kit.auth(request);
      if (!auth) return kit.redirect(reply, SIGN_IN_PATH);
      const fields = formFields(request);
      try {
        return await act(auth, fields, request, reply);
      } catch (error) {
        return onRefusal(auth, request, reply, kit.problem(error, reply), fields);
      }
    });
  }

  /** After a factor is confirmed: the first one's recovery codes, else the account page. */
  function confirmed(reply: FastifyReply, recoveryCodes: readonly string[] | undefined): FastifyReply {
    if (recoveryCodes === undefined) return kit.redirect(reply, `${ACCOUNT_PATH}?done=factor-added`);
    return kit.send(reply, { title: s.codesTitle, main: recoveryCodesMain(recoveryCodes, ACCOUNT_PATH) });
  }

  // An authenticator app: the password, then the QR code and a first code.
  async function addTotpPage(
    auth: UserAuthContext,
    request: FastifyRequest,
    reply: FastifyReply,
    problem?: PageProblem,
    fields?: FormFields,
  ) {
    const csrf = kit.csrfToken(request, reply);
    const main = html`<p>${s.totpIntro}</p>
      ${passwordForm(ADD_TOTP_PATH, csrf, auth.user.username, s.continue, nameField(fields && fieldOf(fields, 'name')))}`;
    return kit.send(reply, { title: s.totpTitle, main, error: problem?.message }, problem?.status);
  }

  function confirmTotpForm(csrf: string, factorId: string): SafeHtml {
    return html`${postForm(CONFIRM_TOTP_PATH, csrf, s.confirm, hidden('factor_id', factorId), codeField())}
      <p>${link(ACCOUNT_PATH, s.cancel)}</p>`;
  }

  signedInPage(ADD_TOTP_PATH, addTotpPage, async (auth, fields, request, reply) => {
    const enrolment = await portcullis.enrolTotp(
      auth,
      { currentPassword: fieldOf(fields, 'current_password') ?? '', name: fieldOf(fields, 'name') },
      kit.context(request, auth),
    );
    const csrf = kit.csrfToken(request, reply);
    const main = html`${await totpSetup(enrolment)}
      <p>${s.totpConfirm}</p>
      ${confirmTotpForm(csrf, enrolment.id)}`;
    return kit.send(reply, { title: s.totpScanTitle, main, dataImages: true });
  });

  signedInAction(
    CONFIRM_TOTP_PATH,
    async (auth, fields, request, reply) => {
      const code = (fieldOf(fields, 'code') ?? '').replace(/\s/g, '');
      const { recoveryCodes } = await portcullis.factors.confirmTotp(
        auth.user,
        fieldOf(fields, 'factor_id') ?? '',
        code,
        kit.context(request, auth),
      );
      return confirmed(reply, recoveryCodes);
    },
    // The key is not shown again (core keeps it sealed): another code, or start again.
    async (_auth, request, reply, problem, fields) => {
      const main = html`<p>${s.totpConfirmRetry}</p>
        ${confirmTotpForm(kit.csrfToken(request, reply), fieldOf(fields, 'factor_id') ?? '')}`;
      return kit.send(reply, { title: s.totpScanTitle, main, error: problem.message }, problem.status);
    },
  );

  // A passkey or security key: the password, then the browser's ceremony (script), then its answer.
  async function addPasskeyPage(
    auth: UserAuthContext,
    request: FastifyRequest,
    reply: FastifyReply,
    problem?: PageProblem,
    fields?: FormFields,
  ) {
    const csrf = kit.csrfToken(request, reply);
    const main = html`<p>${s.passkeyIntro}</p>
      ${passwordForm(ADD_PASSKEY_PATH, csrf, auth.user.username, s.continue, nameField(fields && fieldOf(fields, 'name')))}`;
    return kit.send(reply, { title: s.passkeyTitle, main, error: problem?.message }, problem?.status);
  }

  signedInPage(ADD_PASSKEY_PATH, addPasskeyPage, async (auth, fields, request, reply) => {
    const enrolment = await portcullis.enrolWebAuthn(
      auth,
      { currentPassword: fieldOf(fields, 'current_password') ?? '', name: fieldOf(fields, 'name') },
      kit.context(request, auth),
    );
    const main = html`<p>${s.passkeyCreate}</p>
      ${webauthnForm({
        action: CONFIRM_PASSKEY_PATH,
        csrfToken: kit.csrfToken(request, reply),
        ceremony: 'register',
        options: { json: enrolment.options },
        submit: s.passkeyCreateButton,
        fields: { factor_id: enrolment.id },
      })}
      <p>${link(ACCOUNT_PATH, s.cancel)}</p>`;
    return kit.send(reply, { title: s.passkeyCreateTitle, main, scripts: WEBAUTHN_SCRIPTS });
  });

  signedInAction(
    CONFIRM_PASSKEY_PATH,
    async (auth, fields, request, reply) => {
      // As the API's route: the answer's clientExtensionResults may be left out.
      const response = { clientExtensionResults: {}, ...webauthnAnswer<object>(fields) } as RegistrationResponseJSON;
      const { recoveryCodes } = await portcullis.factors.confirmWebAuthn(
        auth.user,
        fieldOf(fields, 'factor_id') ?? '',
        response,
        kit.context(request, auth),
      );
      return confirmed(reply, recoveryCodes);
    },
    // The registration's options were used: start again, with the password.
    (auth, request, reply, problem) => addPasskeyPage(auth, request, reply, problem),
  );

  // Rename a factor: what the list calls it.
  async function renamePage(
    auth: UserAuthContext,
    request: FastifyRequest,
    reply: FastifyReply,
    problem?: PageProblem,
    fields?: FormFields,
  ) {
    const query = request.query as { factor?: unknown } | undefined;
    const id = fields ? fieldOf(fields, 'factor_id') : typeof query?.factor === 'string' ? query.factor : undefined;
    const factor = (await portcullis.ownFactors(auth)).factors.find((f) => f.id === id);
    if (factor === undefined) return kit.redirect(reply, ACCOUNT_PATH);
    const csrf = kit.csrfToken(request, reply);
    const main = html`${postForm(
        RENAME_FACTOR_PATH,
        csrf,
        STRINGS.account.renameFactor,
        hidden('factor_id', factor.id),
        field({
          name: 'name',
          label: s.newName,
          autocomplete: 'off',
          value: (fields && fieldOf(fields, 'name')) ?? factor.name,
          autofocus: true,
        }),
      )}
      <p>${link(ACCOUNT_PATH, s.cancel)}</p>`;
    return kit.send(reply, { title: s.renameTitle, main, error: problem?.message }, problem?.status);
  }

  signedInPage(RENAME_FACTOR_PATH, renamePage, async (auth, fields, request, reply) => {
    await portcullis.factors.rename(
      auth.user,
      fieldOf(fields, 'factor_id') ?? '',
      fieldOf(fields, 'name') ?? '',
      kit.context(request, auth),
    );
    return kit.redirect(reply, `${ACCOUNT_PATH}?done=factor-renamed`);
  });

  // New recovery codes: the password, then the codes, shown once.
  async function recoveryPage(auth: UserAuthContext, request: FastifyRequest, reply: FastifyReply, problem?: PageProblem) {
    const csrf = kit.csrfToken(request, reply);
    const main = html`<p>${s.recoveryIntro}</p>
      ${passwordForm(RECOVERY_CODES_PATH, csrf, auth.user.username, s.recoverySubmit)}`;
    return kit.send(reply, { title: s.recoveryTitle, main, error: problem?.message }, problem?.status);
  }

  signedInPage(RECOVERY_CODES_PATH, recoveryPage, async (auth, fields, request, reply) => {
    const codes = await portcullis.regenerateRecoveryCodes(
      auth,
      { currentPassword: fieldOf(fields, 'current_password') ?? '' },
      kit.context(request, auth),
    );
    return kit.send(reply, { title: s.codesTitle, main: recoveryCodesMain(codes, ACCOUNT_PATH) });
  });
}
