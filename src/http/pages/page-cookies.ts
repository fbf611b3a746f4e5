/**
 * The hosted pages' cookies, all HttpOnly (no script reads them) and Secure with SECURE_COOKIES=on:
 * - `portcullis_session`: the refresh token of the browser's session (a row of the sessions
 *   table, opened by the same core login as POST /token), SameSite=Lax so that a link from a
 *   mail or another site opens the account page signed in, Path=/, kept as long as the session
 *   may live (SESSION_MAX_LIFETIME_SECONDS). Pages check it without rotating it.
 * - `portcullis_mfa`: between the two steps of a sign-in, the mfa_token (single use, five
 *   minutes), so that it is never written into the page; Path=/sign-in, SameSite=Strict.
 * - `portcullis_csrf`: the random value the forms' CSRF tokens are bound to (csrf.ts).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MFA_TOKEN_TTL_MS } from '../../core/factors/mfa-tokens.js';
import { readCookie } from '../plugins/device-cookie.js';

export const SESSION_COOKIE = 'portcullis_session';
export const MFA_COOKIE = 'portcullis_mfa';
export const CSRF_COOKIE = 'portcullis_csrf';

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

  setMfaToken(reply: FastifyReply, mfaToken: string): void {
    this.set(reply, MFA_COOKIE, mfaToken, { path: '/sign-in', sameSite: 'Strict', maxAgeSeconds: MFA_TOKEN_TTL_MS / 1000 });
  }

  clearMfaToken(reply: FastifyReply): void {
    this.set(reply, MFA_COOKIE, '', { path: '/sign-in', sameSite: 'Strict', maxAgeSeconds: 0 });
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
