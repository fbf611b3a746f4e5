/**
 * GET /authorize's request checked (RFC 6749 §4.1.1, §4.1.2.1, RFC 7636, OAuth 2.1): first the
 * client and the redirect URI, because until both are known good an error must NOT go to the
 * redirect URI (it is shown to the person instead: `invalid`); then everything else, whose errors
 * go back to the client's redirect URI with `error`, `error_description` and `state` (`refused`).
 */
import { allowsGrant, type Client } from '../clients/client.js';
import { isIdentityScope, parseScopeParameter } from '../tokens/scopes.js';
import { isS256Challenge } from './authorization-code.js';

export type Prompt = 'none' | 'login' | 'consent';

/** A request that can be answered: the client, where to, and what it asks. */
export interface AuthorizationRequest {
  readonly client: Client;
  readonly redirectUri: string;
  /** redirect_uri was in the request (not left out for the one registered). */
  readonly redirectUriGiven: boolean;
  readonly scopes: readonly string[];
  readonly state: string | undefined;
  readonly codeChallenge: string;
  readonly nonce: string | undefined;
  readonly prompts: ReadonlySet<Prompt>;
  readonly maxAgeSeconds: number | undefined;
  readonly loginHint: string | undefined;
}

/** RFC 6749 §4.1.2.1's error codes (and OpenID Connect's login_required, consent_required, request(_uri)_not_supported). */
export type AuthorizationErrorCode =
  | 'invalid_request'
  | 'unauthorized_client'
  | 'access_denied'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'server_error'
  | 'login_required'
  | 'consent_required'
  | 'request_not_supported'
  | 'request_uri_not_supported';

export type CheckedRequest =
  | { readonly kind: 'valid'; readonly request: AuthorizationRequest }
  /** Never redirected: the client or redirect URI is not known good. */
  | { readonly kind: 'invalid'; readonly reason: 'unknown_client' | 'bad_redirect_uri' }
  | {
      readonly kind: 'refused';
      readonly redirectUri: string;
      readonly state: string | undefined;
      readonly error: AuthorizationErrorCode;
      readonly description: string;
    };

/** The query as Fastify parsed it: a repeated parameter is an array (and an error, RFC 6749 §3.1). */
export type AuthorizationQuery = Readonly<Record<string, string | readonly string[] | undefined>>;

const PARAMETERS = [
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'code_challenge',
  'code_challenge_method',
  'prompt',
  'max_age',
  'login_hint',
  'nonce',
] as const;
type Parameter = (typeof PARAMETERS)[number];
const MAX_VALUE_LENGTH = 2048;

export async function checkAuthorizationRequest(
  query: AuthorizationQuery,
  findClient: (id: string) => Promise<Client | undefined>,
): Promise<CheckedRequest> {
  const single = (name: Parameter): string | undefined | null => {
    const value = query[name];
    if (Array.isArray(value)) return null;
    return value === undefined || value === '' ? undefined : (value as string);
  };
  const clientId = single('client_id');
  const client = typeof clientId === 'string' && clientId.length <= 128 ? await findClient(clientId) : undefined;
  if (!client) return { kind: 'invalid', reason: 'unknown_client' };
  const given = single('redirect_uri');
  let redirectUri: string;
  if (given === null) return { kind: 'invalid', reason: 'bad_redirect_uri' };
  if (given === undefined) {
    if (client.redirectUris.length !== 1) return { kind: 'invalid', reason: 'bad_redirect_uri' };
    redirectUri = client.redirectUris[0]!;
  } else {
    if (!client.redirectUris.includes(given)) return { kind: 'invalid', reason: 'bad_redirect_uri' };
    redirectUri = given;
  }
  const rawState = query.state;
  const state = typeof rawState === 'string' && rawState !== '' ? rawState : undefined;
  const refuse = (error: AuthorizationErrorCode, description: string): CheckedRequest => ({
    kind: 'refused',
    redirectUri,
    state,
    error,
    description,
  });

  for (const name of PARAMETERS) {
    const value = single(name);
    if (value === null) return refuse('invalid_request', `${name} must not be repeated`);
    if (value !== undefined && value.length > MAX_VALUE_LENGTH) return refuse('invalid_request', `${name} is too long`);
  }
  // OpenID Connect Core §6: request objects are not supported (discovery says so); say it rather than ignore them.
  if (query.request !== undefined) return refuse('request_not_supported', 'Request objects (request) are not supported');
  if (query.request_uri !== undefined) return refuse('request_uri_not_supported', 'request_uri is not supported');
  const responseType = single('response_type');
  if (responseType === undefined) return refuse('invalid_request', 'Missing response_type');
  if (responseType !== 'code') return refuse('unsupported_response_type', 'Only response_type=code is supported');
  if (!allowsGrant(client, 'authorization_code'))
    return refuse('unauthorized_client', 'This client is not registered for the authorization code grant');

  const challenge = single('code_challenge');
  if (challenge === undefined) return refuse('invalid_request', 'PKCE is required: send code_challenge with code_challenge_method=S256');
  if (single('code_challenge_method') !== 'S256')
    return refuse('invalid_request', 'code_challenge_method must be S256 (plain is not accepted)');
  if (!isS256Challenge(challenge as string))
    return refuse('invalid_request', 'code_challenge must be the base64url SHA-256 of the verifier (43 characters)');

  const scopeParameter = single('scope');
  let scopes: readonly string[];
  if (scopeParameter === undefined) {
    scopes = client.scopes;
  } else {
    const parsed = parseScopeParameter(scopeParameter as string);
    if (parsed === undefined) return refuse('invalid_scope', 'Malformed scope parameter');
    const beyond = parsed.filter((scope) => !client.scopes.includes(scope) && !isIdentityScope(scope));
    if (beyond.length > 0) return refuse('invalid_scope', `Scope beyond the client's: ${beyond.join(' ').slice(0, 200)}`);
    scopes = parsed;
  }

  const prompts = new Set<Prompt>();
  const promptParameter = single('prompt');
  for (const value of (promptParameter ?? '').split(' ').filter((part) => part !== '')) {
    if (value !== 'none' && value !== 'login' && value !== 'consent')
      return refuse('invalid_request', `Unsupported prompt value: ${value.slice(0, 32)}`);
    prompts.add(value);
  }
  if (prompts.has('none') && prompts.size > 1) return refuse('invalid_request', 'prompt=none goes with no other value');

  const maxAge = single('max_age');
  if (maxAge !== undefined && !/^[0-9]{1,9}$/.test(maxAge as string))
    return refuse('invalid_request', 'max_age must be a number of seconds');

  return {
    kind: 'valid',
    request: {
      client,
      redirectUri,
      redirectUriGiven: given !== undefined,
      scopes,
      state,
      codeChallenge: challenge as string,
      nonce: (single('nonce') as string | undefined) ?? undefined,
      prompts,
      maxAgeSeconds: maxAge === undefined ? undefined : Number(maxAge),
      loginHint: (single('login_hint') as string | undefined) ?? undefined,
    },
  };
}

/** The redirect URI with these parameters added to its own query (RFC 6749 §4.1.2). */
export function redirectWith(redirectUri: string, parameters: Readonly<Record<string, string | undefined>>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(parameters)) if (value !== undefined) url.searchParams.set(name, value);
  return url.toString();
}
