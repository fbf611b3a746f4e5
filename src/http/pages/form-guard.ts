/**
 * The preHandler of every form POST of the hosted pages: the body must be a form
 * (application/x-www-form-urlencoded; anything else is a 415 page), and its CSRF field must be
 * the token of the browser's cookies (csrf.ts; else a 403 page, and nothing is done).
 */
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { html } from './html.js';
import type { FormFields, PageKit } from './page-kit.js';
import { STRINGS } from './strings.js';
import { link } from './layout.js';

const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(;|$)/i;

export function formFields(request: FastifyRequest): FormFields {
  const body = request.body;
  return body !== null && typeof body === 'object' ? (body as FormFields) : {};
}

export function formGuard(kit: PageKit): preHandlerAsyncHookHandler {
  return async (request, reply) => {
    if (!FORM_TYPE.test(request.headers['content-type'] ?? '')) {
      return kit.send(reply, { title: STRINGS.csrf.title, main: html`<p>${STRINGS.csrf.body}</p>` }, 415);
    }
    if (!kit.csrfMatches(request, formFields(request))) {
      return kit.send(
        reply,
        {
          title: STRINGS.csrf.title,
          main: html`<p>${STRINGS.csrf.body}</p>
            <p>${link('/sign-in', STRINGS.back)}</p>`,
        },
        403,
      );
    }
    return undefined;
  };
}

/** A form field, trimmed of nothing: undefined when absent or empty. */
export function fieldOf(fields: FormFields, name: string): string | undefined {
  const value = fields[name];
  return value === undefined || value === '' ? undefined : value;
}
