/**
 * Which redirect URIs a client may register (RFC 6749 §3.1.2, RFC 9700 §2.1, RFC 8252 §7.3):
 * an absolute https URL, or http only to the loopback interface (a native or local app); never a
 * fragment, never user info, no whitespace. Requests then compare them as exact strings, so what
 * is registered is kept exactly as given.
 */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Longer than any URL a browser keeps well. */
export const MAX_REDIRECT_URI_LENGTH = 2000;

/** Why the URI cannot be registered, or undefined when it can. */
export function redirectUriProblem(uri: string): string | undefined {
  if (uri.length === 0 || uri.length > MAX_REDIRECT_URI_LENGTH) return `must be 1 to ${MAX_REDIRECT_URI_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  if (/[\s\u0000-\u001f\u007f]/.test(uri)) return 'must not contain whitespace or control characters';
  if (uri.includes('#')) return 'must not have a fragment (#)';
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.username !== '' || url.password !== '') return 'must not carry user information';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return undefined;
  return 'must use https (http only for localhost, 127.0.0.1 or [::1])';
}
