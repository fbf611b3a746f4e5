/**
 * CSRF protection of every form the hosted pages post: a signed double-submit token (OWASP's
 * recommended stateless pattern). The browser keeps a random value in the HttpOnly
 * `portcullis_csrf` cookie; each form carries HMAC-SHA256(key, value, session) in a hidden field,
 * where the key is derived from SECRET_KEY (HKDF) and the session is the browser's session
 * cookie, if any (so the token changes at each sign-in and sign-out). A POST is done only when the field is the HMAC of the cookie it came with
 * (compared in constant time). Another site can neither read the cookie nor compute the HMAC, and a
 * cookie planted from a sibling domain is useless without a token signed for it and, once signed
 * in, for the victim's session. Why not @fastify/csrf-protection: ADR 0027 (the same scheme, with
 * two more dependencies and a cookie plugin the rest of the server does not need).
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { randomToken } from '../../core/secrets.js';

export class CsrfTokens {
  private readonly key: Buffer;

  constructor(secretKey: string) {
    this.key = Buffer.from(hkdfSync('sha256', secretKey, 'portcullis', 'hosted-pages/csrf/v1', 32));
  }

  /** A new cookie value. */
  newSecret(): string {
    return randomToken(32);
  }

  /** The token the forms of a page carry, for this cookie value and signed-in session. */
  tokenFor(secret: string, session: string | undefined): string {
    return createHmac('sha256', this.key)
      .update(`${secret}\n${session ?? ''}`)
      .digest('base64url');
  }

  matches(token: string | undefined, secret: string | undefined, session: string | undefined): boolean {
    if (token === undefined || secret === undefined) return false;
    const expected = Buffer.from(this.tokenFor(secret, session));
    const given = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
