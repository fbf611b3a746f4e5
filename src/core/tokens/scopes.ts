/**
 * OAuth scopes (RFC 6749 §3.3): space-delimited, case-sensitive tokens made
 * of printable ASCII other than space, `"` and `\`.
 */
/** The scope of the admin API (/admin/...); MFA_POLICY=admins requires a second factor of the users holding it. */
export const ADMIN_SCOPE = 'admin';

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const MAX_SCOPES = 64;
const MAX_SCOPE_LENGTH = 128;

export function isScopeToken(value: string): boolean {
  return value.length <= MAX_SCOPE_LENGTH && SCOPE_TOKEN.test(value);
}

/** Parses a space- or comma-separated list into unique scope tokens; throws TypeError on a bad one. */
export function parseScopeList(value: string): string[] {
  const parts = value.split(/[\s,]+/).filter((part) => part !== '');
  for (const part of parts) {
    if (!isScopeToken(part)) throw new TypeError(`invalid scope ${JSON.stringify(part)}`);
  }
  const unique = [...new Set(parts)];
  if (unique.length > MAX_SCOPES) throw new TypeError(`at most ${MAX_SCOPES} scopes`);
  return unique;
}

/** Scopes given as a list (the admin API, the library): each item one scope token, never split. */
export function parseScopeArray(items: readonly string[]): string[] {
  for (const item of items) {
    if (typeof item !== 'string' || !isScopeToken(item)) throw new TypeError(`invalid scope ${JSON.stringify(item)}`);
  }
  const unique = [...new Set(items)];
  if (unique.length > MAX_SCOPES) throw new TypeError(`at most ${MAX_SCOPES} scopes`);
  return unique;
}

/** The OAuth `scope` request parameter: space-separated only (RFC 6749 §3.3). */
export function parseScopeParameter(value: string): string[] | undefined {
  const parts = value.split(' ').filter((part) => part !== '');
  if (parts.some((part) => !isScopeToken(part))) return undefined;
  return [...new Set(parts)];
}

/**
 * OpenID Connect's scopes (Core §3.1.2.1, §5.4): they ask for an ID token and for identity claims,
 * not for permissions, so no user or client holds them: every client of the code flow may ask for
 * them, and a user's tokens keep them (while `heldScopes` never counts them as permissions).
 */
export const IDENTITY_SCOPES: readonly string[] = Object.freeze(['openid', 'profile', 'email']);

export function isIdentityScope(scope: string): boolean {
  return IDENTITY_SCOPES.includes(scope);
}

/** A user's token: the requested permissions the user holds, and the requested identity scopes. */
export function grantUserScopes(held: readonly string[], requested: readonly string[]): string[] {
  const heldSet = new Set(held);
  return requested.filter((scope) => heldSet.has(scope) || isIdentityScope(scope));
}

/** What a token gets: the requested scopes the holder has, or all of them when none are asked for. */
export function grantScopes(held: readonly string[], requested: readonly string[] | undefined): string[] {
  if (requested === undefined) return [...held];
  const heldSet = new Set(held);
  return requested.filter((scope) => heldSet.has(scope));
}

/**
 * The scopes a token still confers: those of its `scope` claim that the holder (the user or the
 * client, as stored now) still holds. A scope taken from an account stops working at once, for
 * tokens issued before as for new ones; given back, it works again for the tokens that carry it.
 */
export function heldScopes(tokenScope: string, held: readonly string[]): ReadonlySet<string> {
  const scopes = new Set<string>();
  for (const scope of tokenScope.split(' ')) {
    if (scope !== '' && held.includes(scope)) scopes.add(scope);
  }
  return scopes;
}

export function formatScopes(scopes: readonly string[]): string {
  return scopes.join(' ');
}
