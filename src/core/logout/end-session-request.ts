/**
 * OpenID Connect RP-Initiated Logout 1.0 §2: the request to the end_session_endpoint (/end-session), checked. `id_token_hint` is
 * one of our ID tokens, verified with jose against our own JWKS (the algorithm of ID tokens
 * pinned, `typ: JWT` so that no access or logout token passes for one, `iss` ours); an EXPIRED
 * one is accepted (§2: the hint may have expired), a bad signature or another issuer is not. The
 * client is the hint's audience or `client_id` (both given must agree), and
 * `post_logout_redirect_uri` must be one of its registered `post_logout_redirect_uris` exactly:
 * anything else is a page, never a redirect. `logout_hint` and `ui_locales` are ignored.
 */
import { createLocalJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import type { Client } from '../clients/client.js';
import type { Clock } from '../clock.js';

/** Why a request is refused with a page (nothing is sent to any client). */
export type EndSessionProblem = 'bad_hint' | 'unknown_client' | 'client_mismatch' | 'bad_redirect_uri' | 'bad_request';

/** What the verified hint says: whose session (`sid`), which user and client. */
export interface IdTokenHint {
  readonly sid: string | undefined;
  readonly sub: string | undefined;
  readonly audience: readonly string[];
}

export interface EndSessionRequest {
  readonly hint: IdTokenHint | undefined;
  readonly client: Client | undefined;
  readonly postLogoutRedirectUri: string | undefined;
  readonly state: string | undefined;
}

export type CheckedEndSession =
  { readonly kind: 'valid'; readonly request: EndSessionRequest } | { readonly kind: 'invalid'; readonly problem: EndSessionProblem };

export type EndSessionQuery = Readonly<Record<string, string | readonly string[] | undefined>>;

export interface EndSessionDependencies {
  readonly issuer: string;
  /** The JWS algorithm of our ID tokens. */
  readonly algorithm: string;
  readonly jwks: () => Promise<{ readonly keys: readonly object[] }>;
  readonly client: (id: string) => Promise<Client | undefined>;
  readonly clock: Clock;
}

/** Longer than any ID token of ours; longer strings are not looked at. */
const MAX_HINT_LENGTH = 16_384;
const MAX_VALUE_LENGTH = 2_000;

/** A parameter given once (RFC 6749 §3.1: no repeats), or undefined; `false` when repeated or too long. */
function single(query: EndSessionQuery, name: string, max = MAX_VALUE_LENGTH): string | undefined | false {
  const value = query[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || value.length > max) return false;
  return value;
}

/** The hint's claims if it is an ID token we signed (expired or not), else undefined. */
export async function verifyIdTokenHint(token: string, deps: EndSessionDependencies): Promise<IdTokenHint | undefined> {
  const jwks = (await deps.jwks()) as Parameters<typeof createLocalJWKSet>[0];
  let payload: JWTPayload;
  try {
    // No key yet (no ID token was ever signed) is no match, as a key of another server is.
    ({ payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
      algorithms: [deps.algorithm],
      issuer: deps.issuer,
      typ: 'JWT',
      currentDate: new Date(deps.clock.now()),
    }));
  } catch (error) {
    // jose checks the signature, typ and iss before exp: an expired hint is otherwise sound.
    if (error instanceof errors.JWTExpired) payload = error.payload;
    else return undefined;
  }
  const audience = typeof payload.aud === 'string' ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud : [];
  return {
    sid: typeof payload.sid === 'string' ? payload.sid : undefined,
    sub: typeof payload.sub === 'string' ? payload.sub : undefined,
    audience,
  };
}

export async function checkEndSessionRequest(query: EndSessionQuery, deps: EndSessionDependencies): Promise<CheckedEndSession> {
  const invalid = (problem: EndSessionProblem): CheckedEndSession => ({ kind: 'invalid', problem });
  const hintToken = single(query, 'id_token_hint', MAX_HINT_LENGTH);
  const clientId = single(query, 'client_id');
  const redirectUri = single(query, 'post_logout_redirect_uri');
  const state = single(query, 'state');
  if (hintToken === false || clientId === false || redirectUri === false || state === false) return invalid('bad_request');

  let hint: IdTokenHint | undefined;
  if (hintToken !== undefined) {
    hint = await verifyIdTokenHint(hintToken, deps);
    if (hint === undefined) return invalid('bad_hint');
  }
  // The client: client_id, which must then be among the hint's audience; or the hint's one audience.
  let id: string | undefined = clientId;
  if (hint !== undefined) {
    if (clientId !== undefined && !hint.audience.includes(clientId)) return invalid('client_mismatch');
    if (clientId === undefined) {
      if (hint.audience.length !== 1) return invalid('client_mismatch');
      id = hint.audience[0];
    }
  }
  const client = id === undefined ? undefined : await deps.client(id);
  if (id !== undefined && client === undefined) return invalid('unknown_client');
  if (redirectUri !== undefined && (client === undefined || !client.postLogoutRedirectUris.includes(redirectUri))) {
    return invalid('bad_redirect_uri');
  }
  return { kind: 'valid', request: { hint, client, postLogoutRedirectUri: redirectUri, state } };
}
