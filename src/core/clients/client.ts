/** A confidential service client (RFC 6749 §2.1): id and secret, the secret stored as a SHA-256 only. */
export interface Client {
  readonly id: string;
  readonly name: string;
  readonly secretHash: string;
  readonly scopes: readonly string[];
  readonly createdAt: number;
}

export interface PublicClient {
  readonly client_id: string;
  readonly name: string;
  readonly scopes: readonly string[];
  readonly created_at: string;
}

export function toPublicClient(client: Client): PublicClient {
  return {
    client_id: client.id,
    name: client.name,
    scopes: client.scopes,
    created_at: new Date(client.createdAt).toISOString(),
  };
}

/** Credentials as a request presented them (HTTP Basic or form fields). */
export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}
