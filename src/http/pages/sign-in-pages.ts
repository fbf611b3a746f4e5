/**
 * Sign-in and sign-out pages. The sign-in form calls core's passwordLogin, as POST /token's
 * password grant does (the same backoff, buckets and challenge; a refusal with a challenge is
 * shown as "try later, or use a sign-in link": the page does not solve it). A user with a second
 * factor goes on to the second-step page (core's mfaLogin, as the mfa grant); the mfa_token
 * waits in an HttpOnly cookie, never in the page. A sign-in link from a mail (`/sign-in?token=`)
 * signs in only when its button is pressed: mail scanners follow links. Each success opens a
 * session of our sessions table and keeps its refresh token in the session cookie; sign-out
 * revokes that session.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidMfaTokenError, MfaRequiredError } from '../../core/errors.js';
import type { SecondFactorProof } from '../../core/factors/factor-service.js';
import type { TokenResponse } from '../../core/portcullis.js';
import { rateLimit } from '../plugins/rate-limit.js';
import { fieldOf, formFields, formGuard } from './form-guard.js';
import { html } from './html.js';
import { field, hidden, link, paragraph, postForm } from './layout.js';
import type { PageKit, PageProblem } from './page-kit.js';
import {
  ENROL_AT_SIGN_IN_PATH,
  enrolledAtSignIn,
  passkeySignIn,
  registerSignInFactorPages,
  webauthnProof,
  webauthnSecondStep,
} from './sign-in-factor-pages.js';
import { STRINGS } from './strings.js';
import { WEBAUTHN_RESPONSE_FIELD } from './webauthn-page-script.js';
import { loginHintOf, redirectOriginOf, returnAddress } from './return-address.js';

export const SIGN_IN_PATH = '/sign-in';
export const SECOND_STEP_PATH = '/sign-in/second-step';
export const SIGN_IN_LINK_PATH = '/sign-in/link';
export const SIGN_OUT_PATH = '/sign-out';
export const ACCOUNT_PATH = '/account';

/** What `/sign-in?done=` may announce: a fixed list, never text from the URL. */
const DONE_NOTICES: Readonly<Record<string, string>> = Object.freeze({
  'signed-out': STRINGS.signIn.signedOut,
  'password-changed': STRINGS.signIn.passwordChanged,
  'signed-up': STRINGS.signIn.signedUp,
});

export interface SignInPageOptions {
  /** Sign-up is open (REGISTRATION=open): the sign-in page links to it. */
  readonly signUp: boolean;
}

export function registerSignInPages(app: FastifyInstance, kit: PageKit, options: SignInPageOptions): void {
  const { portcullis } = kit;
  const guard = formGuard(kit);

  /** The return address of /authorize this sign-in was asked for (`?return_to=`), if it is one. */
  function returnTo(request: FastifyRequest): string | undefined {
    return returnAddress((request.query as Record<string, unknown> | undefined)?.return_to);
  }

  /** A path of these pages, carrying the return address on. */
  function withReturn(path: string, address: string | undefined): string {
    return address === undefined ? path : `${path}?return_to=${encodeURIComponent(address)}`;
  }

  async function signInForm(
    request: FastifyRequest,
    reply: FastifyReply,
    state: { username?: string | undefined; problem?: PageProblem; notice?: string | undefined },
  ) {
    const csrf = kit.csrfToken(request, reply);
    const back = returnTo(request);
    kit.allowFormTarget(reply, await redirectOriginOf(portcullis, back));
    const username = state.username ?? loginHintOf(back);
    const passkey = portcullis.config.webauthn.passkeyLogin ? passkeySignIn(csrf) : undefined;
    const main = html`<p>${STRINGS.signIn.intro(portcullis.config.productName)}</p>
      ${postForm(
        withReturn(SIGN_IN_PATH, back),
        csrf,
        STRINGS.signIn.submit,
        field({
          name: 'username',
          label: STRINGS.signIn.username,
          autocomplete: 'username',
          value: username,
          autofocus: username === undefined,
        }),
        field({
          name: 'password',
          label: STRINGS.signIn.password,
          type: 'password',
          autocomplete: 'current-password',
          autofocus: username !== undefined,
        }),
      )}
      ${passkey?.main}
      <ul class="links">
        <li>${link('/forgot-password', STRINGS.signIn.forgot)}</li>
        ${options.signUp ? html`<li>${link('/sign-up', STRINGS.signIn.signUp)}</li>` : ''}
      </ul>`;
    return kit.send(
      reply,
      { title: STRINGS.signIn.title, main, error: state.problem?.message, notice: state.notice, scripts: passkey?.scripts },
      state.problem?.status,
    );
  }

  /**
   * A login is done: signed in, then back to /authorize when it sent the browser here, else to the
   * account page (a factor enrolled at login first shows its recovery codes).
   */
  function signedIn(request: FastifyRequest, reply: FastifyReply, tokens: TokenResponse): FastifyReply {
    kit.cookies.clearMfaToken(reply);
    if (tokens.refresh_token !== undefined) kit.cookies.setSession(reply, tokens.refresh_token);
    const next = returnTo(request) ?? ACCOUNT_PATH;
    if (tokens.recovery_codes !== undefined) return enrolledAtSignIn(kit, reply, tokens.recovery_codes, next);
    return kit.redirect(reply, next);
  }

  function secondStepNeeded(request: FastifyRequest, reply: FastifyReply, error: MfaRequiredError) {
    kit.cookies.setMfaToken(reply, error.mfaToken, error.webauthnOptions);
    return kit.redirect(reply, withReturn(error.enrolmentRequired ? ENROL_AT_SIGN_IN_PATH : SECOND_STEP_PATH, returnTo(request)));
  }

  app.get<{ Querystring: { token?: string; done?: string; return_to?: string } }>(SIGN_IN_PATH, async (request, reply) => {
    const query = request.query ?? {};
    if (typeof query.token === 'string') return linkPage(request, reply, query.token);
    // /authorize sent the browser here because it needs a sign-in (perhaps a fresh one): the form, always.
    if (returnTo(request) === undefined && (await kit.auth(request))) return kit.redirect(reply, ACCOUNT_PATH);
    const notice = typeof query.done === 'string' ? DONE_NOTICES[query.done] : undefined;
    return signInForm(request, reply, { notice });
  });

  app.post(SIGN_IN_PATH, { preHandler: guard }, async (request, reply) => {
    const fields = formFields(request);
    const username = fieldOf(fields, 'username') ?? '';
    const password = fieldOf(fields, 'password') ?? '';
    try {
      const login = await portcullis.passwordLogin({ username, password }, undefined, kit.context(request));
      return signedIn(request, reply, login.tokens);
    } catch (error) {
      if (error instanceof MfaRequiredError) return secondStepNeeded(request, reply, error);
      return signInForm(request, reply, { username, problem: kit.problem(error, reply) });
    }
  });

  async function secondStepForm(request: FastifyRequest, reply: FastifyReply, problem?: PageProblem) {
    const csrf = kit.csrfToken(request, reply);
    const back = returnTo(request);
    kit.allowFormTarget(reply, await redirectOriginOf(portcullis, back));
    const webauthn = webauthnSecondStep(kit, request, csrf, withReturn(SECOND_STEP_PATH, back));
    const main = html`${webauthn?.main}
      <p>${STRINGS.secondStep.intro}</p>
      ${postForm(
        withReturn(SECOND_STEP_PATH, back),
        csrf,
        STRINGS.secondStep.submit,
        field({
          name: 'otp',
          label: STRINGS.secondStep.otp,
          hint: STRINGS.secondStep.otpHint,
          autocomplete: 'one-time-code',
          inputmode: 'numeric',
          required: false,
          autofocus: true,
        }),
        html`<p>${STRINGS.secondStep.orRecovery}</p>`,
        field({ name: 'recovery_code', label: STRINGS.secondStep.recoveryCode, autocomplete: 'off', required: false }),
      )}`;
    return kit.send(reply, { title: STRINGS.secondStep.title, main, error: problem?.message, scripts: webauthn?.scripts }, problem?.status);
  }

  app.get(SECOND_STEP_PATH, async (request, reply) => {
    if (kit.cookies.mfaToken(request) === undefined) return kit.redirect(reply, withReturn(SIGN_IN_PATH, returnTo(request)));
    return secondStepForm(request, reply);
  });

  app.post(SECOND_STEP_PATH, { preHandler: [guard, rateLimit(portcullis, 'token')] }, async (request, reply) => {
    const mfaToken = kit.cookies.mfaToken(request);
    if (mfaToken === undefined) return signInForm(request, reply, { problem: { status: 400, message: STRINGS.secondStep.expired } });
    const fields = formFields(request);
    const otp = fieldOf(fields, 'otp')?.replace(/\s/g, '');
    const recoveryCode = fieldOf(fields, 'recovery_code')?.trim();
    const passkey = fieldOf(fields, WEBAUTHN_RESPONSE_FIELD) !== undefined;
    if (!passkey && (otp === undefined) === (recoveryCode === undefined)) {
      return secondStepForm(request, reply, { status: 400, message: STRINGS.secondStep.oneOfThem });
    }
    try {
      const proof: SecondFactorProof = webauthnProof(fields) ?? (otp !== undefined ? { otp } : { recoveryCode: recoveryCode! });
      const login = await portcullis.mfaLogin(mfaToken, proof, undefined, kit.context(request));
      return signedIn(request, reply, login.tokens);
    } catch (error) {
      const problem = kit.problem(error, reply);
      if (error instanceof InvalidMfaTokenError) {
        kit.cookies.clearMfaToken(reply);
        return signInForm(request, reply, { problem });
      }
      return secondStepForm(request, reply, problem);
    }
  });

  function linkPage(request: FastifyRequest, reply: FastifyReply, token: string, problem?: PageProblem) {
    const csrf = kit.csrfToken(request, reply);
    const main =
      token === ''
        ? paragraph(STRINGS.signInLink.missing)
        : html`<p>${STRINGS.signInLink.intro(portcullis.config.productName)}</p>
            ${postForm(SIGN_IN_LINK_PATH, csrf, STRINGS.signInLink.submit, hidden('token', token))}`;
    return kit.send(reply, { title: STRINGS.signInLink.title, main, error: problem?.message }, problem?.status);
  }

  app.post(SIGN_IN_LINK_PATH, { preHandler: [guard, rateLimit(portcullis, 'token')] }, async (request, reply) => {
    const token = fieldOf(formFields(request), 'token') ?? '';
    try {
      return signedIn(request, reply, await portcullis.signInWithLink(token, undefined, undefined, kit.context(request)));
    } catch (error) {
      if (error instanceof MfaRequiredError) return secondStepNeeded(request, reply, error);
      return linkPage(request, reply, '', kit.problem(error, reply));
    }
  });

  registerSignInFactorPages(app, kit, {
    signedIn,
    startOver: (request, reply, problem) => signInForm(request, reply, { problem }),
    secondStepPath: SECOND_STEP_PATH,
  });

  app.get(SIGN_OUT_PATH, async (request, reply) => {
    if (!(await kit.auth(request))) return kit.redirect(reply, SIGN_IN_PATH);
    const csrf = kit.csrfToken(request, reply);
    const main = html`<p>${STRINGS.signOut.intro}</p>
      ${postForm(SIGN_OUT_PATH, csrf, STRINGS.signOut.submit)}`;
    return kit.send(reply, { title: STRINGS.signOut.title, main });
  });

  app.post(SIGN_OUT_PATH, { preHandler: guard }, async (request, reply) => {
    const auth = await kit.auth(request);
    if (auth) await portcullis.logout(auth, false, kit.context(request, auth));
    kit.cookies.clearSession(reply);
    return kit.redirect(reply, `${SIGN_IN_PATH}?done=signed-out`);
  });
}
