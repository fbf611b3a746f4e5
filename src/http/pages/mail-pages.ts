/**
 * The pages the mails link to, at the paths the mail templates use (core/outbox/mail-templates.ts):
 * `/forgot-password` (ask for a reset mail), `/reset-password?token=` (choose a new password) and
 * `/verify-email?token=` (confirm an address). A token in a link is used only when the page's
 * button is pressed, never on GET: mail scanners follow links. Each form calls the core method of
 * the API's route (requestPasswordReset, resetPassword, verifyEmail) with its limits.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidResetTokenError } from '../../core/errors.js';
import { fieldOf, formFields, formGuard } from './form-guard.js';
import { html } from './html.js';
import { field, hidden, link, paragraph, postForm } from './layout.js';
import type { PageKit, PageProblem } from './page-kit.js';
import { SIGN_IN_PATH } from './sign-in-pages.js';
import { STRINGS } from './strings.js';

export const FORGOT_PASSWORD_PATH = '/forgot-password';
export const RESET_PASSWORD_PATH = '/reset-password';
export const VERIFY_EMAIL_PATH = '/verify-email';

type TokenQuery = { Querystring: { token?: string } };

export function registerMailPages(app: FastifyInstance, kit: PageKit): void {
  const { portcullis } = kit;
  const guard = formGuard(kit);
  const backToSignIn = html`<p>${link(SIGN_IN_PATH, STRINGS.back)}</p>`;

  function forgotForm(request: FastifyRequest, reply: FastifyReply, state: { who?: string; problem?: PageProblem; notice?: string }) {
    const csrf = kit.csrfToken(request, reply);
    const s = STRINGS.forgotPassword;
    const main = html`<p>${s.intro}</p>
      ${postForm(FORGOT_PASSWORD_PATH, csrf, s.submit, field({ name: 'who', label: s.who, autocomplete: 'username', value: state.who }))}
      ${backToSignIn}`;
    return kit.send(reply, { title: s.title, main, error: state.problem?.message, notice: state.notice }, state.problem?.status);
  }

  app.get(FORGOT_PASSWORD_PATH, async (request, reply) => forgotForm(request, reply, {}));

  app.post(FORGOT_PASSWORD_PATH, { preHandler: guard }, async (request, reply) => {
    const who = fieldOf(formFields(request), 'who')?.trim() ?? '';
    // As the API takes it: an address by e-mail, anything else by username.
    const reference = who.includes('@') ? { email: who } : { username: who };
    try {
      await portcullis.requestPasswordReset(reference, kit.context(request));
      return forgotForm(request, reply, { notice: STRINGS.forgotPassword.sent });
    } catch (error) {
      return forgotForm(request, reply, { who, problem: kit.problem(error, reply) });
    }
  });

  function resetForm(request: FastifyRequest, reply: FastifyReply, token: string, problem?: PageProblem) {
    const csrf = kit.csrfToken(request, reply);
    const s = STRINGS.resetPassword;
    const main = html`<p>${s.intro}</p>
      ${postForm(
        RESET_PASSWORD_PATH,
        csrf,
        s.submit,
        hidden('token', token),
        field({ name: 'new_password', label: s.newPassword, type: 'password', autocomplete: 'new-password', autofocus: true }),
      )}`;
    return kit.send(reply, { title: s.title, main, error: problem?.message }, problem?.status);
  }

  app.get<TokenQuery>(RESET_PASSWORD_PATH, async (request, reply) => {
    const token = request.query?.token;
    // The "was that you?" mail links here without a token: asking for one is the way in.
    if (typeof token !== 'string' || token === '') return kit.redirect(reply, FORGOT_PASSWORD_PATH);
    return resetForm(request, reply, token);
  });

  app.post(RESET_PASSWORD_PATH, { preHandler: guard }, async (request, reply) => {
    const fields = formFields(request);
    const token = fieldOf(fields, 'token') ?? '';
    try {
      await portcullis.resetPassword(token, fieldOf(fields, 'new_password') ?? '', kit.context(request));
    } catch (error) {
      const problem = kit.problem(error, reply);
      if (error instanceof InvalidResetTokenError) {
        return kit.send(
          reply,
          {
            title: STRINGS.resetPassword.title,
            main: html`<p>${link(FORGOT_PASSWORD_PATH, STRINGS.forgotPassword.title)}</p>`,
            error: problem.message,
          },
          400,
        );
      }
      return resetForm(request, reply, token, problem);
    }
    // Every session ended, this browser's too.
    kit.cookies.clearSession(reply);
    return kit.redirect(reply, `${SIGN_IN_PATH}?done=password-changed`);
  });

  function verifyForm(request: FastifyRequest, reply: FastifyReply, token: string, problem?: PageProblem) {
    const csrf = kit.csrfToken(request, reply);
    const s = STRINGS.verifyEmail;
    const main =
      token === ''
        ? html`${paragraph(s.missing)}${backToSignIn}`
        : html`<p>${s.intro}</p>
            ${postForm(VERIFY_EMAIL_PATH, csrf, s.submit, hidden('token', token))}`;
    return kit.send(reply, { title: s.title, main, error: problem?.message }, problem?.status);
  }

  app.get<TokenQuery>(VERIFY_EMAIL_PATH, async (request, reply) => {
    const token = request.query?.token;
    return verifyForm(request, reply, typeof token === 'string' ? token : '');
  });

  app.post(VERIFY_EMAIL_PATH, { preHandler: guard }, async (request, reply) => {
    const token = fieldOf(formFields(request), 'token') ?? '';
    try {
      const user = await portcullis.verifyEmail(token, kit.context(request));
      const s = STRINGS.verifyEmail;
      const main = html`<p>${link(SIGN_IN_PATH, s.continue)}</p>`;
      return kit.send(reply, { title: s.title, main, notice: s.done(user.email ?? '') });
    } catch (error) {
      return verifyForm(request, reply, '', kit.problem(error, reply));
    }
  });
}
