/**
 * Where the sign-in pages send the browser back to after a sign-in that /authorize asked for: only
 * ever a local `/authorize?...` URL (never another path, another host, a scheme-relative `//` or a
 * backslash trick), checked on every use, since `return_to` arrives in a URL anyone can write.
 * The return address drops what forced the sign-in (`prompt=login`, `max_age`): the sign-in just
 * done satisfies them, and keeping them would send the browser round again.
 */
import { checkAuthorizationRequest, type AuthorizationQuery } from '../../core/authorization/authorization-request.js';
import type { Portcullis } from '../../core/portcullis.js';

export const AUTHORIZE_PATH = '/authorize';
const MAX_RETURN_LENGTH = 8192;

/** The return address if it is a local /authorize URL, else undefined. */
export function returnAddress(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > MAX_RETURN_LENGTH || !value.startsWith(`${AUTHORIZE_PATH}?`)) return undefined;
  if (/[\\\s]/.test(value)) return undefined;
  const url = new URL(value, 'http://portcullis.invalid');
  if (url.origin !== 'http://portcullis.invalid' || url.pathname !== AUTHORIZE_PATH) return undefined;
  return `${url.pathname}${url.search}`;
}

/** The return address for an /authorize request that needs a sign-in first. */
export function returnAfterSignIn(query: URLSearchParams): string {
  const next = new URLSearchParams(query);
  const prompts = (next.get('prompt') ?? '').split(' ').filter((value) => value !== '' && value !== 'login');
  if (prompts.length > 0) next.set('prompt', prompts.join(' '));
  else next.delete('prompt');
  next.delete('max_age');
  return `${AUTHORIZE_PATH}?${next.toString()}`;
}

/** The query of an /authorize URL as Fastify would parse it: a repeated parameter is an array. */
export function queryOf(search: URLSearchParams): AuthorizationQuery {
  const query: Record<string, string | string[]> = {};
  for (const name of new Set(search.keys())) {
    const values = search.getAll(name);
    query[name] = values.length === 1 ? values[0]! : values;
  }
  return query;
}

/**
 * The origin of the client's redirect URI that a return address leads to: a page whose form ends
 * in that redirect must allow it in its CSP's form-action (browsers check redirects after a form).
 */
export async function redirectOriginOf(portcullis: Portcullis, address: string | undefined): Promise<string | undefined> {
  if (address === undefined) return undefined;
  const query = queryOf(new URL(address, 'http://portcullis.invalid').searchParams);
  const checked = await checkAuthorizationRequest(query, (id) => portcullis.clients.byId(id));
  if (checked.kind === 'invalid') return undefined;
  return new URL(checked.kind === 'valid' ? checked.request.redirectUri : checked.redirectUri).origin;
}

/** A hint for the sign-in form's username field, from the return address's login_hint. */
export function loginHintOf(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  const hint = new URL(address, 'http://portcullis.invalid').searchParams.get('login_hint');
  return hint === null || hint === '' || hint.length > 256 ? undefined : hint;
}
