/**
 * OAuth clients (RFC 6749 §2): confidential ones authenticate with a secret (stored as a SHA-256
 * only); public ones (a single-page or native app, RFC 6749 §2.1) have none and are identified by
 * `client_id` alone, which is why they may only use the authorization code grant with PKCE.
 * A client of the code flow registers its redirect URIs, compared as exact strings (RFC 9700 §2.1).
 */

export type ClientType = 'confidential' | 'public';

/** The grants a client may use at POST /token. */
export type ClientGrantType = 'client_credentials' | 'authorization_code' | 'refresh_token';

export const CLIENT_GRANT_TYPES: readonly ClientGrantType[] = Object.freeze(['client_credentials', 'authorization_code', 'refresh_token']);

interface ClientFields {
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly string[];
  readonly createdAt: number;
  /** Exact strings; at least one when `grantTypes` holds authorization_code. */
  readonly redirectUris: readonly string[];
  readonly grantTypes: readonly ClientGrantType[];
  /** Ours: the consent page is skipped. */
  readonly firstParty: boolean;
  /** Where RP-initiated logout may send the browser back to (the logout slice of issue 16). */
  readonly postLogoutRedirectUris: readonly string[];
  /** Where back-channel logout tokens are POSTed (OpenID Connect Back-Channel Logout 1.0); null: none. */
  readonly backchannelLogoutUri: string | null;
}

/** A confidential client has a secret's hash; a public one has none (so it cannot be authenticated, by construction). */
export type Client =
  | (ClientFields & { readonly type: 'confidential'; readonly secretHash: string })
  | (ClientFields & { readonly type: 'public'; readonly secretHash: null });

/** What the admin API, the CLI and listings show of a client (never its secret or its hash). */
export interface PublicClient {
  readonly client_id: string;
  readonly name: string;
  readonly type: ClientType;
  readonly scopes: readonly string[];
  readonly redirect_uris: readonly string[];
  readonly grant_types: readonly ClientGrantType[];
  readonly first_party: boolean;
  readonly post_logout_redirect_uris: readonly string[];
  readonly backchannel_logout_uri: string | null;
  readonly created_at: string;
}

export function toPublicClient(client: Client): PublicClient {
  return {
    client_id: client.id,
    name: client.name,
    type: client.type,
    scopes: client.scopes,
    redirect_uris: client.redirectUris,
    grant_types: client.grantTypes,
    first_party: client.firstParty,
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    backchannel_logout_uri: client.backchannelLogoutUri,
    created_at: new Date(client.createdAt).toISOString(),
  };
}

export function allowsGrant(client: Client, grant: ClientGrantType): boolean {
  return client.grantTypes.includes(grant);
}

/** Credentials as a request presented them (HTTP Basic or form fields). */
export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}
