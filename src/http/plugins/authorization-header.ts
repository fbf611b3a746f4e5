/**
 * The `Authorization` header of a request, read from its raw headers. Node keeps only the first of
 * several Authorization headers (and `request.headers` with it), so a request carrying two would be
 * judged by one while a proxy, a log or a firewall in front may have judged it by the other. The
 * header cannot be a list (RFC 9110 §11.6.2): two are refused, whatever they say.
 */
import { DuplicateHeaderError } from '../../core/errors.js';

/** The header's value, undefined without one; DuplicateHeaderError (400) for two or more. */
export function authorizationHeader(rawHeaders: readonly string[]): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 13 && (name === 'authorization' || name === 'Authorization' || name.toLowerCase() === 'authorization')) {
      if (value !== undefined) throw new DuplicateHeaderError('Authorization');
      value = rawHeaders[i + 1];
    }
  }
  return value;
}
