/**
 * The hosted pages (HOSTED_PAGES=on, ADR 0027): server-rendered, accessible HTML for sign-in
 * (with the second step), sign-out, the account page, the pages the mails link to, and sign-up
 * (REGISTRATION=open). They live in an encapsulated context of the standalone server's app (not
 * in the embedding plugin: a host has its own pages), with their own CSP, their own error
 * handler (a page, never JSON, never a stack) and the same body parsers, rate limits and core
 * methods as the API. Every user-visible string is in strings.ts.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import type { Portcullis } from '../../core/portcullis.js';
import { PortcullisError } from '../../core/errors.js';
import type { PagesSettings } from '../settings.js';
import { registerAccountPage } from './account-page.js';
import { registerFactorPages } from './factor-pages.js';
import { html } from './html.js';
import { link, LOGO_PATH, STYLESHEET_PATH } from './layout.js';
import { registerMailPages } from './mail-pages.js';
import { registerPageAssets } from './page-assets.js';
import { PageKit } from './page-kit.js';
import { registerAuthorizePages } from './authorize-pages.js';
import { registerLogoutPages } from './logout-pages.js';
import { registerSignInPages, SIGN_IN_PATH } from './sign-in-pages.js';
import { registerSignUpPage } from './sign-up-page.js';
import { STRINGS } from './strings.js';
import { registerWebAuthnScripts, SCRIPT_PATHS } from './webauthn-page-script.js';

/** Every path the hosted pages serve (GET, and POST for forms): none is in the OpenAPI document. */
export const HOSTED_PAGE_PATHS: ReadonlySet<string> = new Set([
  '/pages/style.css',
  '/pages/logo',
  '/sign-in',
  '/sign-in/second-step',
  '/sign-in/link',
  '/sign-out',
  '/account',
  '/account/sessions/end',
  '/account/password',
  '/account/factors/remove',
  '/forgot-password',
  '/reset-password',
  '/verify-email',
  '/sign-up',
  // Factors (factor-pages.ts, sign-in-factor-pages.ts, webauthn-page-script.ts).
  '/account/factors/totp',
  '/account/factors/totp/confirm',
  '/account/factors/webauthn',
  '/account/factors/webauthn/confirm',
  '/account/factors/rename',
  '/account/recovery-codes',
  '/sign-in/enrol',
  '/sign-in/passkey',
  '/pages/simplewebauthn-browser.js',
  '/pages/webauthn.js',
  // The code flow (authorize-pages.ts).
  '/authorize',
  '/authorize/consent',
  // RP-initiated logout (logout-pages.ts).
  '/end-session',
  '/end-session/confirm',
]);

export interface HostedPagesOptions {
  readonly pages: PagesSettings;
  readonly secureCookies: boolean;
}

export async function registerHostedPages(app: FastifyInstance, portcullis: Portcullis, options: HostedPagesOptions): Promise<void> {
  if (!options.pages.enabled) return;
  const kit = new PageKit(
    portcullis,
    { productName: portcullis.config.productName, logo: options.pages.logoFile !== undefined },
    options.secureCookies,
  );
  await app.register(async (pages) => {
    // After the API's security headers (a parent's onSend runs first): the pages' CSP replaces the API's.
    pages.addHook('onSend', (request, reply, payload, done) => {
      const url = request.routeOptions.url;
      if (url !== STYLESHEET_PATH && url !== LOGO_PATH && !SCRIPT_PATHS.has(url ?? '')) {
        reply.header('content-security-policy', kit.contentSecurityPolicy(reply));
      }
      done(null, payload);
    });
    // Pages are no part of the API: kept out of the OpenAPI document.
    pages.addHook('onRoute', (route) => {
      route.schema = { ...route.schema, hide: true };
    });
    // A page, never JSON and never a stack: a core error in words with its API status, a body
    // that could not be read as a 400, anything else as a 500 (logged with the request id).
    pages.setErrorHandler((error: FastifyError, request, reply) => {
      let status: number;
      let message: string;
      if (error instanceof PortcullisError) {
        ({ status, message } = kit.problem(error, reply));
      } else if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
        status = error.statusCode;
        message = STRINGS.unreadable;
      } else {
        request.log.error({ err: error }, 'hosted page failed');
        status = 500;
        message = STRINGS.failure.body;
      }
      return kit.send(
        reply,
        { title: STRINGS.failure.title, main: html`<p>${link(SIGN_IN_PATH, STRINGS.back)}</p>`, error: message },
        status,
      );
    });
    registerPageAssets(pages, options.pages.brandColor, options.pages.logoFile);
    registerSignInPages(pages, kit, { signUp: portcullis.config.registration === 'open' });
    registerAccountPage(pages, kit);
    registerFactorPages(pages, kit);
    registerWebAuthnScripts(pages);
    registerMailPages(pages, kit);
    if (portcullis.config.registration === 'open') registerSignUpPage(pages, kit);
    registerAuthorizePages(pages, kit);
    registerLogoutPages(pages, kit);
  });
}
