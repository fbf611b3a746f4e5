/**
 * The only script of the hosted pages (ADR 0027): WebAuthn cannot be done by a form, so the pages
 * that add a passkey, use one as a second step, or sign in with one carry two script files of
 * ours: @simplewebauthn/browser's UMD bundle (a runtime dependency, served from node_modules, never
 * from a CDN) and the small script below. Nothing inline: the page's CSP allows `script-src 'self'`
 * on those pages only (page-kit.ts).
 *
 * The script does one thing: a `<form data-webauthn>` (hidden until the script shows it, so a
 * browser without JavaScript sees only the text that says it is needed) runs the ceremony on
 * submit, writes the authenticator's answer (JSON) into its `webauthn_response` field and posts
 * the form as any other form is posted: with its CSRF field, to a page route that checks it and
 * calls core. The options come from a `data-webauthn-options` attribute (a registration's, a
 * second step's) or from a POST to `data-webauthn-options-url` (a passkey login's fresh challenge,
 * `POST /signin/passkey`, so that showing the sign-in page stores nothing). A refusal by the browser
 * or the user shows the form's own words (strings.ts) in its alert. The source is kept here as
 * text, so that the build ships it with the code; a unit test compiles it.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import { InvalidWebAuthnResponseError } from '../../core/errors.js';
import { parseJsonBody } from '../plugins/body-parsers.js';
import { html, type SafeHtml } from './html.js';
import { CSRF_FIELD, hidden } from './layout.js';
import type { FormFields } from './page-kit.js';
import { STRINGS } from './strings.js';

export const WEBAUTHN_LIBRARY_PATH = '/pages/simplewebauthn-browser.js';
export const WEBAUTHN_SCRIPT_PATH = '/pages/webauthn.js';
/** The scripts of a WebAuthn page, in order (the library first; both deferred). */
export const WEBAUTHN_SCRIPTS: readonly string[] = [WEBAUTHN_LIBRARY_PATH, WEBAUTHN_SCRIPT_PATH];
/** Paths that are script files, not pages: they keep the API's CSP. */
export const SCRIPT_PATHS: ReadonlySet<string> = new Set(WEBAUTHN_SCRIPTS);
/** The form field that carries the authenticator's answer, as JSON. */
export const WEBAUTHN_RESPONSE_FIELD = 'webauthn_response';

export const WEBAUTHN_PAGE_SCRIPT = `'use strict';
(function () {
  var library = window.SimpleWebAuthnBrowser;
  if (!library || !library.browserSupportsWebAuthn()) return;
  document.querySelectorAll('form[data-webauthn]').forEach(function (form) {
    var box = form.closest('.webauthn');
    var fallback = box && box.querySelector('[data-webauthn-fallback]');
    var alert = box && box.querySelector('[data-webauthn-error]');
    var button = form.querySelector('button');
    if (fallback) fallback.hidden = true;
    form.hidden = false;
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      button.disabled = true;
      if (alert) alert.hidden = true;
      options(form)
        .then(function (optionsJSON) {
          return form.dataset.webauthn === 'register'
            ? library.startRegistration({ optionsJSON: optionsJSON })
            : library.startAuthentication({ optionsJSON: optionsJSON });
        })
        .then(function (answer) {
          form.elements.namedItem('${WEBAUTHN_RESPONSE_FIELD}').value = JSON.stringify(answer);
          form.submit();
        })
        .catch(function () {
          button.disabled = false;
          if (alert) {
            alert.querySelector('p').textContent = form.dataset.webauthnFailed;
            alert.hidden = false;
          }
        });
    });
  });

  function options(form) {
    if (form.dataset.webauthnOptions) return Promise.resolve(JSON.parse(form.dataset.webauthnOptions));
    return fetch(form.dataset.webauthnOptionsUrl, { method: 'POST', credentials: 'same-origin' }).then(function (response) {
      if (!response.ok) throw new Error('options: ' + response.status);
      return response.json().then(function (body) {
        return body.options;
      });
    });
  }
})();
`;

/** @simplewebauthn/browser's UMD bundle: the package exports no path to it, so it is found beside its entry point. */
function libraryBundle(): Buffer {
  const entry = createRequire(import.meta.url).resolve('@simplewebauthn/browser');
  return readFileSync(entry.replace(/(script|esm)[\\/]index\.js$/, 'dist/bundle/index.umd.min.js'));
}

export function registerWebAuthnScripts(app: FastifyInstance): void {
  const library = libraryBundle();
  const type = 'text/javascript; charset=utf-8';
  app.get(WEBAUTHN_LIBRARY_PATH, async (_request, reply) => reply.type(type).header('cache-control', 'public, max-age=3600').send(library));
  app.get(WEBAUTHN_SCRIPT_PATH, async (_request, reply) =>
    reply.type(type).header('cache-control', 'public, max-age=3600').send(WEBAUTHN_PAGE_SCRIPT),
  );
}

export interface WebAuthnFormOptions {
  /** The page route the answer is posted to. */
  readonly action: string;
  readonly csrfToken: string;
  /** A registration (navigator.credentials.create) or an assertion (get). */
  readonly ceremony: 'register' | 'authenticate';
  /** The options, written into the form; or where to POST for them. */
  readonly options: { readonly json: object } | { readonly url: string };
  readonly submit: string;
  /** More hidden fields (a pending factor's id). */
  readonly fields?: Readonly<Record<string, string>>;
  /** Words above the button, shown with it (when the script runs). */
  readonly intro?: string;
  /** Say, without JavaScript, that this step needs it (false where the page works without the step). */
  readonly fallback?: boolean;
}

/**
 * The markup of a WebAuthn step: a form the script shows and drives, the words shown instead
 * without JavaScript, and an alert for a ceremony that failed.
 */
export function webauthnForm(options: WebAuthnFormOptions): SafeHtml {
  const source =
    'json' in options.options
      ? html` data-webauthn-options="${JSON.stringify(options.options.json)}"`
      : html` data-webauthn-options-url="${options.options.url}"`;
  return html`<div class="webauthn">
    ${options.fallback === false ? '' : html`<p class="hint" data-webauthn-fallback>${STRINGS.webauthn.needsScript}</p>`}
    <div class="message error" role="alert" data-webauthn-error hidden><p></p></div>
    <form
      method="post"
      action="${options.action}"
      data-webauthn="${options.ceremony}"
      data-webauthn-failed="${STRINGS.webauthn.failed}"
      ${source}
      hidden
    >
      ${hidden(CSRF_FIELD, options.csrfToken)}${hidden(WEBAUTHN_RESPONSE_FIELD, '')}
      ${Object.entries(options.fields ?? {}).map(([name, value]) => hidden(name, value))}
      ${options.intro === undefined ? '' : html`<p>${options.intro}</p>`}
      <button type="submit">${options.submit}</button>
    </form>
  </div>`;
}

/**
 * The authenticator's answer a WebAuthn form posted, parsed as the API parses JSON (no prototype
 * pollution, no NUL): InvalidWebAuthnResponseError when it is missing or no JSON object. Core
 * checks the rest.
 */
export function webauthnAnswer<T>(fields: FormFields): T {
  const text = fields[WEBAUTHN_RESPONSE_FIELD];
  let value: unknown;
  try {
    value = text === undefined || text === '' ? undefined : parseJsonBody(text);
  } catch {
    value = undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidWebAuthnResponseError('The WebAuthn answer is missing or is no JSON object');
  }
  return value as T;
}
