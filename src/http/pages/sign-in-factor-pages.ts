/**
 * The factor parts of signing in on the pages (issue 16), beside sign-in-pages.ts:
 * - **Passkey sign-in** (PASSKEY_LOGIN=on): the sign-in page shows "Sign in with a passkey" when
 *   its script runs; the script gets a fresh challenge from `POST /signin/passkey` (the API's route,
 *   with its rate limit: showing the page stores nothing), the browser signs it, and the answer is
 *   posted here as a form, to core's passkeyGrant (as the passkey grant of POST /token).
 * - **A passkey or security key as second step**: when mfa_required came with WebAuthn options,
 *   they wait beside the mfa_token (page-cookies.ts) and the second-step page offers them to the
 *   browser; the answer goes to core's mfaLogin as the mfa grant's `webauthn_response` does.
 * - **Enrolment at login** under MFA_POLICY: when mfa_required says enrolment_required, the user
 *   sets up an authenticator app with the mfa_token (core's enrolAtLogin, as POST /mfa/enrol), and
 *   the second step's first code confirms it and signs in; the recovery codes are shown once.
 * The mfa_token stays in its HttpOnly cookie throughout; no page holds it.
 */
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidMfaTokenError } from '../../core/errors.js';
import type { TokenResponse } from '../../core/portcullis.js';
import { rateLimit } from '../plugins/rate-limit.js';
import { recoveryCodesMain, totpSetup } from './factor-pages.js';
import { fieldOf, formFields, formGuard } from './form-guard.js';
import { html, type SafeHtml } from './html.js';
import { field, postForm, type PageView } from './layout.js';
import type { PageKit, PageProblem } from './page-kit.js';
import { STRINGS } from './strings.js';
import { WEBAUTHN_RESPONSE_FIELD, WEBAUTHN_SCRIPTS, webauthnAnswer, webauthnForm } from './webauthn-page-script.js';

export const ENROL_AT_SIGN_IN_PATH = '/sign-in/enrol';
export const PASSKEY_SIGN_IN_PATH = '/sign-in/passkey';
/** The API's route that hands out a passkey login's options (passkey-routes.ts). */
const PASSKEY_OPTIONS_URL = '/signin/passkey';

/** What sign-in-pages.ts lends these routes: how a login ends, and how it starts over. */
export interface SignInSteps {
  /** A login's tokens: the session cookie, then the account page (or the recovery codes of a factor enrolled at login). */
  readonly signedIn: (request: FastifyRequest, reply: FastifyReply, tokens: TokenResponse) => FastifyReply;
  /** The sign-in page again, with a refusal. */
  readonly startOver: (request: FastifyRequest, reply: FastifyReply, problem: PageProblem) => Promise<FastifyReply>;
  readonly secondStepPath: string;
}

/** The passkey part of the sign-in page (PASSKEY_LOGIN=on): hidden until the script shows it. */
export function passkeySignIn(csrfToken: string): Pick<PageView, 'scripts'> & { main: SafeHtml } {
  return {
    main: webauthnForm({
      action: PASSKEY_SIGN_IN_PATH,
      csrfToken,
      ceremony: 'authenticate',
      options: { url: PASSKEY_OPTIONS_URL },
      submit: STRINGS.webauthn.signIn,
      intro: STRINGS.webauthn.orPasskey,
      fallback: false,
    }),
    scripts: WEBAUTHN_SCRIPTS,
  };
}

/** The WebAuthn part of the second-step page when this browser's second step has WebAuthn options. */
export function webauthnSecondStep(
  kit: PageKit,
  request: FastifyRequest,
  csrfToken: string,
  action: string,
): (Pick<PageView, 'scripts'> & { main: SafeHtml }) | undefined {
  const options = kit.cookies.mfaWebAuthnOptions(request);
  if (options === undefined) return undefined;
  return {
    main: html`<h2>${STRINGS.webauthn.secondStep}</h2>
      ${webauthnForm({
        action,
        csrfToken,
        ceremony: 'authenticate',
        options: { json: options },
        submit: STRINGS.webauthn.secondStep,
        intro: STRINGS.webauthn.secondStepIntro,
      })}
      <h2>${STRINGS.webauthn.orCode}</h2>`,
    scripts: WEBAUTHN_SCRIPTS,
  };
}

/** Whether a second-step form carries a WebAuthn answer; then the proof is that answer. */
export function webauthnProof(fields: Readonly<Record<string, string | undefined>>): { webauthn: AuthenticationResponseJSON } | undefined {
  if (fieldOf(fields, WEBAUTHN_RESPONSE_FIELD) === undefined) return undefined;
  return { webauthn: { clientExtensionResults: {}, ...webauthnAnswer<object>(fields) } as AuthenticationResponseJSON };
}

/** The page that shows a factor enrolled at login its recovery codes, before the account page. */
export function enrolledAtSignIn(kit: PageKit, reply: FastifyReply, codes: readonly string[], next: string): FastifyReply {
  return kit.send(reply, { title: STRINGS.factors.codesTitle, main: recoveryCodesMain(codes, next) });
}

export function registerSignInFactorPages(app: FastifyInstance, kit: PageKit, steps: SignInSteps): void {
  const { portcullis } = kit;
  const guard = formGuard(kit);
  const e = STRINGS.enrolAtLogin;

  if (portcullis.config.webauthn.passkeyLogin) {
    app.post(PASSKEY_SIGN_IN_PATH, { preHandler: [guard, rateLimit(portcullis, 'token')] }, async (request, reply) => {
      try {
        const response = { clientExtensionResults: {}, ...webauthnAnswer<object>(formFields(request)) } as AuthenticationResponseJSON;
        return steps.signedIn(request, reply, await portcullis.passkeyGrant(response, undefined, undefined, kit.context(request)));
      } catch (error) {
        return steps.startOver(request, reply, kit.problem(error, reply));
      }
    });
  }

  function enrolPage(request: FastifyRequest, reply: FastifyReply, problem?: PageProblem) {
    const main = html`<p>${e.intro}</p>
      ${postForm(ENROL_AT_SIGN_IN_PATH, kit.csrfToken(request, reply), e.start)}`;
    return kit.send(reply, { title: e.title, main, error: problem?.message }, problem?.status);
  }

  app.get(ENROL_AT_SIGN_IN_PATH, async (request, reply) => {
    if (kit.cookies.mfaToken(request) === undefined) return kit.redirect(reply, '/sign-in');
    return enrolPage(request, reply);
  });

  // A pending authenticator app bound to the mfa_token; its first code goes to the second step, which signs in.
  app.post(ENROL_AT_SIGN_IN_PATH, { preHandler: [guard, rateLimit(portcullis, 'token')] }, async (request, reply) => {
    const mfaToken = kit.cookies.mfaToken(request);
    if (mfaToken === undefined) return steps.startOver(request, reply, { status: 400, message: STRINGS.secondStep.expired });
    try {
      const name = fieldOf(formFields(request), 'name');
      const enrolment = await portcullis.enrolAtLogin(mfaToken, name, kit.context(request));
      const main = html`${await totpSetup(enrolment)}
        <p>${STRINGS.factors.totpConfirm}</p>
        ${postForm(
          steps.secondStepPath,
          kit.csrfToken(request, reply),
          e.confirm,
          field({
            name: 'otp',
            label: STRINGS.factors.code,
            hint: STRINGS.factors.codeHint,
            autocomplete: 'one-time-code',
            inputmode: 'numeric',
            autofocus: true,
          }),
        )}`;
      return kit.send(reply, { title: STRINGS.factors.totpScanTitle, main, dataImages: true });
    } catch (error) {
      const problem = kit.problem(error, reply);
      if (!(error instanceof InvalidMfaTokenError)) return enrolPage(request, reply, problem);
      kit.cookies.clearMfaToken(reply);
      return steps.startOver(request, reply, problem);
    }
  });
}
