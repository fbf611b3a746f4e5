/**
 * The frame of every hosted page and the pieces of its forms: one stylesheet of ours, the brand
 * (PRODUCT_NAME, BRAND_LOGO_FILE), one h1, the error or notice above the form (announced by
 * screen readers: role="alert" / role="status"), labelled fields, and the CSRF field on every
 * form that posts. No inline script or style anywhere (the CSP forbids both); a page that needs
 * a script (WebAuthn) names a file of ours.
 */
import { html, type HtmlValue, type SafeHtml } from './html.js';
import { STRINGS } from './strings.js';

export const STYLESHEET_PATH = '/pages/style.css';
export const LOGO_PATH = '/pages/logo';
/** The form field that carries the CSRF token (csrf.ts). */
export const CSRF_FIELD = 'csrf_token';

export interface Brand {
  readonly productName: string;
  /** A logo is served at LOGO_PATH (BRAND_LOGO_FILE). */
  readonly logo: boolean;
}

export interface PageView {
  readonly title: string;
  readonly main: SafeHtml;
  /** Shown above the content as an error (a form's refusal). */
  readonly error?: string | undefined;
  /** Shown above the content as news (a change done). */
  readonly notice?: string | undefined;
  /** Script files of ours (WebAuthn pages only): the page's CSP then allows `script-src 'self'` (page-kit.ts). */
  readonly scripts?: readonly string[];
  /** The page shows a data: image (a TOTP enrolment's QR code): its CSP then allows `img-src data:`. */
  readonly dataImages?: boolean;
}

export function renderPage(brand: Brand, view: PageView): string {
  const page = html`<!doctype html>
    <html lang="${STRINGS.language}">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>${view.title} · ${brand.productName}</title>
        <link rel="stylesheet" href="${STYLESHEET_PATH}" />
        ${(view.scripts ?? []).map((src) => html`<script src="${src}" defer></script>`)}
      </head>
      <body>
        <header class="brand">
          ${brand.logo ? html`<img class="logo" src="${LOGO_PATH}" alt="${brand.productName}" />` : html`<p class="product">${brand.productName}</p>`}
        </header>
        <main id="main">
          <h1>${view.title}</h1>
          ${
            view.error === undefined
              ? ''
              : html`<div class="message error" role="alert">
                  <h2>${STRINGS.errorHeading}</h2>
                  <p>${view.error}</p>
                </div>`
          }
          ${view.notice === undefined ? '' : html`<div class="message notice" role="status"><p>${view.notice}</p></div>`} ${view.main}
        </main>
      </body>
    </html> `;
  return page.toString();
}

export interface FieldOptions {
  readonly name: string;
  /** The input's id when one page has two fields of this name; default `field-<name>`. */
  readonly id?: string;
  readonly label: string;
  readonly type?: 'text' | 'password' | 'email';
  readonly autocomplete: string;
  readonly required?: boolean;
  /** Never a password: passwords are not filled in again. */
  readonly value?: string | undefined;
  readonly hint?: string;
  readonly inputmode?: 'numeric' | 'text';
  readonly autofocus?: boolean;
}

export function field(options: FieldOptions): SafeHtml {
  const id = options.id ?? `field-${options.name}`;
  const hintId = `${id}-hint`;
  const required = options.required ?? true;
  return html`<div class="field">
    <label for="${id}">${options.label}</label>
    ${options.hint === undefined ? '' : html`<p class="hint" id="${hintId}">${options.hint}</p>`}
    <input
      id="${id}"
      name="${options.name}"
      type="${options.type ?? 'text'}"
      autocomplete="${options.autocomplete}"
      ${
        required ? html` required` : ''
      }${options.value === undefined || options.type === 'password' ? '' : html` value="${options.value}"`}${
        options.hint === undefined ? '' : html` aria-describedby="${hintId}"`
      }${options.inputmode === undefined ? '' : html` inputmode="${options.inputmode}"`}${options.autofocus ? html` autofocus` : ''}
    />
  </div>`;
}

export function hidden(name: string, value: string): SafeHtml {
  return html`<input type="hidden" name="${name}" value="${value}" />`;
}

/** A form that posts to one of the pages' own paths, with the CSRF field. */
export function postForm(action: string, csrfToken: string, submit: string, ...children: HtmlValue[]): SafeHtml {
  return html`<form method="post" action="${action}">
    ${hidden(CSRF_FIELD, csrfToken)} ${children}
    <button type="submit">${submit}</button>
  </form>`;
}

export function link(href: string, text: string): SafeHtml {
  return html`<a href="${href}">${text}</a>`;
}

export function paragraph(text: string): SafeHtml {
  return html`<p>${text}</p>`;
}
