/**
 * The sign-up page (REGISTRATION=open only; otherwise not registered): core's signUp, as
 * POST /users, with the same bucket per client address; the new account then signs in on the
 * sign-in page (REQUIRE_VERIFIED_EMAIL may ask for the mailed link first).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { rateLimit } from '../plugins/rate-limit.js';
import { fieldOf, formFields, formGuard } from './form-guard.js';
import { html } from './html.js';
import { field, link, postForm } from './layout.js';
import type { PageKit, PageProblem } from './page-kit.js';
import { SIGN_IN_PATH } from './sign-in-pages.js';
import { STRINGS } from './strings.js';

export const SIGN_UP_PATH = '/sign-up';

export function registerSignUpPage(app: FastifyInstance, kit: PageKit): void {
  const { portcullis } = kit;

  function signUpForm(request: FastifyRequest, reply: FastifyReply, state: { username?: string; email?: string; problem?: PageProblem }) {
    const csrf = kit.csrfToken(request, reply);
    const s = STRINGS.signUp;
    const main = html`${postForm(
        SIGN_UP_PATH,
        csrf,
        s.submit,
        field({ name: 'username', label: s.username, autocomplete: 'username', value: state.username, autofocus: true }),
        field({ name: 'password', label: s.password, type: 'password', autocomplete: 'new-password' }),
        field({ name: 'email', label: s.email, type: 'email', autocomplete: 'email', required: false, value: state.email }),
      )}
      <p>${link(SIGN_IN_PATH, s.haveAccount)}</p>`;
    return kit.send(reply, { title: s.title, main, error: state.problem?.message }, state.problem?.status);
  }

  app.get(SIGN_UP_PATH, async (request, reply) => signUpForm(request, reply, {}));

  app.post(SIGN_UP_PATH, { preHandler: [formGuard(kit), rateLimit(portcullis, 'sign_up')] }, async (request, reply) => {
    const fields = formFields(request);
    const username = fieldOf(fields, 'username') ?? '';
    const email = fieldOf(fields, 'email')?.trim();
    try {
      await portcullis.signUp({ username, password: fieldOf(fields, 'password') ?? '', ...(email ? { email } : {}) }, kit.context(request));
    } catch (error) {
      return signUpForm(request, reply, { username, email, problem: kit.problem(error, reply) });
    }
    return kit.redirect(reply, `${SIGN_IN_PATH}?done=signed-up`);
  });
}
