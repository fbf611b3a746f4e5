/**
 * The hosted pages' cookies, all HttpOnly (no script reads them) and Secure with SECURE_COOKIES=on:
 * - `portcullis_session`: the refresh token of the browser's session (a row of the sessions
 *   table, opened by the same core login as POST /token), SameSite=Lax so that a link from a
 *   mail or another site opens the account page signed in, Path=/, kept as long as the session
 *   may live (SESSION_MAX_LIFETIME_SECONDS). Pages check it without rotating it.
 * - `portcullis_mfa`: between the two steps of a sign-in, the mfa_token (single use, five
 *   minutes), so that it is never written into the page; Path=/sign-in, SameSite=Strict.
 * - `portcullis_mfa_webauthn`: beside it, when the user has a WebAuthn factor, the assertion
 *   options of that second step (no secret: the API answers them with mfa_required), so that
 *   the second-step page can hand them to the browser; same path, lifetime and SameSite.
 * - `portcullis_csrf`: the random value the forms' CSRF tokens are bound to (csrf.ts).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MFA_TOKEN_TTL_MS } from '../../core/factors/mfa-tokens.js';
import { readCookie } from '../plugins/device-cookie.js';

export const SESSION_COOKIE = 'portcullis_session';
export const MFA_COOKIE = 'portcullis_mfa';
export const MFA_WEBAUTHN_COOKIE = 'portcullis_mfa_webauthn';
export const CSRF_COOKIE = 'portcullis_csrf';
/** Room for the options of ten credentials, within a browser's 4 KiB a cookie. */
const MAX_OPTIONS_COOKIE_LENGTH = 3500;

interface CookieOptions {
  readonly path: string;
  readonly sameSite: 'Lax' | 'Strict';
  /** undefined: until the browser closes; 0: delete. */
  readonly maxAgeSeconds?: number;
}

export class PageCookies {
  constructor(
    private readonly secure: boolean,
    private readonly sessionMaxSeconds: number,
  ) {}

  sessionToken(request: FastifyRequest): string | undefined {
    return readCookie(request.headers.cookie, SESSION_COOKIE);
  }

  setSession(reply: FastifyReply, refreshToken: string): void {
    this.set(reply, SESSION_COOKIE, refreshToken, { path: '/', sameSite: 'Lax', maxAgeSeconds: this.sessionMaxSeconds });
  }

  clearSession(reply: FastifyReply): void {
    this.set(reply, SESSION_COOKIE, '', { path: '/', sameSite: 'Lax', maxAgeSeconds: 0 });
  }

  mfaToken(request: FastifyRequest): string | undefined {
    return readCookie(request.headers.cookie, MFA_COOKIE);
  }

  /** The mfa_token, and the WebAuthn options of its second step when there are any (else that cookie is deleted). */
  setMfaToken(reply: FastifyReply, mfaToken: string, webauthnOptions?: object): void {
    const maxAgeSeconds = MFA_TOKEN_TTL_MS / 1000;
    this.set(reply, MFA_COOKIE, mfaToken, { path: '/sign-in', sameSite: 'Strict', maxAgeSeconds });
    const options = webauthnOptions === undefined ? '' : Buffer.from(JSON.stringify(webauthnOptions)).toString('base64url');
    this.set(reply, MFA_WEBAUTHN_COOKIE, options, {
      path: '/sign-in',
      sameSite: 'Strict',
      maxAgeSeconds: options === '' ? 0 : maxAgeSeconds,
    });
  }

  /** The WebAuthn options of the second step waiting in this browser, if any (a JSON object, never trusted: core checks the answer). */
  mfaWebAuthnOptions(request: FastifyRequest): object | undefined {
    const value = readCookie(request.headers.cookie, MFA_WEBAUTHN_COOKIE, MAX_OPTIONS_COOKIE_LENGTH);
    if (value === undefined || value === '') return undefined;
    try {
      const options: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
      return options !== null && typeof options === 'object' && !Array.isArray(options) ? options : undefined;
    } catch {
      return undefined;
    }
  }

  clearMfaToken(reply: FastifyReply): void {
    this.set(reply, MFA_COOKIE, '', { path: '/sign-in', sameSite: 'Strict', maxAgeSeconds: 0 });
    this.set(reply, MFA_WEBAUTHN_COOKIE, '', { path: '/sign-in', sameSite: 'Strict', maxAgeSeconds: 0 });
  }

  csrfSecret(request: FastifyRequest): string | undefined {
    return readCookie(request.headers.cookie, CSRF_COOKIE);
  }

  setCsrfSecret(reply: FastifyReply, value: string): void {
    this.set(reply, CSRF_COOKIE, value, { path: '/', sameSite: 'Lax' });
  }

  private set(reply: FastifyReply, name: string, value: string, options: CookieOptions): void {
    const attributes = [
      `Path=${options.path}`,
      ...(options.maxAgeSeconds === undefined ? [] : [`Max-Age=${options.maxAgeSeconds}`]),
      'HttpOnly',
      `SameSite=${options.sameSite}`,
      ...(this.secure ? ['Secure'] : []),
    ];
    // Fastify keeps every set-cookie header set on a reply.
    reply.header('set-cookie', `${name}=${value}; ${attributes.join('; ')}`);
  }
}
