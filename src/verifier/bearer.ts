/**
 * `Authorization: Bearer <token>` as RFC 6750 §2.1 has it: the scheme is
 * case-insensitive, the credential a token68. Another scheme, or none, means
 * "no token" (401 Not authenticated), as on the Portcullis server itself.
 */
import { InvalidTokenError, NoTokenError } from './errors.js';

const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

/** The bearer token of an Authorization header value; throws NoTokenError or InvalidTokenError. */
export function parseBearerToken(authorization: string | undefined): string {
  if (typeof authorization !== 'string') throw new NoTokenError();
  const header = authorization.trim();
  const space = header.search(/[ \t]/);
  if (space === -1 || header.slice(0, space).toLowerCase() !== 'bearer') throw new NoTokenError();
  const token = header.slice(space + 1).trim();
  if (token === '') throw new NoTokenError();
  if (!TOKEN68.test(token)) throw new InvalidTokenError('malformed bearer credential');
  return token;
}
