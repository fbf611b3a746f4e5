/**
 * OAuth clients: created with a random id; a confidential one gets a 256-bit secret (shown once,
 * stored as SHA-256) and authenticates with HTTP Basic or form fields (RFC 6749 §2.3.1); a public
 * one has no secret. Registration checks the whole client at once (clientProblem), so no stored
 * client is a combination the grants would have to second-guess.
 */
import type { AuditLog } from '../audit/audit-log.js';
import type { Invalidation } from '../auth-cache.js';
import type { Clock } from '../clock.js';
import { InvalidClientError, NotFoundError, ValidationError } from '../errors.js';
import type { ClientStore, SessionStore } from '../ports.js';
import { hashSecret, randomToken, secretMatches } from '../secrets.js';
import { parseScopeList } from '../tokens/scopes.js';
import { CLIENT_GRANT_TYPES, type Client, type ClientCredentials, type ClientGrantType, type ClientType } from './client.js';
import { redirectUriProblem } from './redirect-uri.js';

const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_URIS = 20;

export interface RegisteredClient {
  readonly client: Client;
  /** Shown once; only its hash is kept. Undefined for a public client, which has none. */
  readonly secret: string | undefined;
}

/** A confidential service client and its secret. */
export interface CreatedClient {
  readonly client: Client;
  /** Shown once; only its hash is kept. */
  readonly secret: string;
}

/** What a registration may set; absent fields take their defaults. */
export interface ClientRegistration {
  readonly type?: ClientType;
  readonly scopes?: readonly string[];
  readonly redirectUris?: readonly string[];
  /** Default: authorization_code and refresh_token with redirect URIs, client_credentials without. */
  readonly grantTypes?: readonly string[];
  readonly firstParty?: boolean;
  readonly postLogoutRedirectUris?: readonly string[];
  /** null (in a change): remove it. */
  readonly backchannelLogoutUri?: string | null;
}

/** What a change may set (not the type: a confidential client's secret cannot be dropped or made up). */
export type ClientChange = Omit<ClientRegistration, 'type'>;

function checkedScopes(scopes: readonly string[]): string[] {
  try {
    return parseScopeList(scopes.join(' '));
  } catch (error) {
    throw new ValidationError('scopes', `Invalid scopes: ${(error as Error).message}`);
  }
}

function checkedUris(field: 'redirect_uris' | 'post_logout_redirect_uris', uris: readonly string[]): string[] {
  if (uris.length > MAX_URIS) throw new ValidationError(field, `At most ${MAX_URIS} URIs`);
  for (const uri of uris) {
    const problem = redirectUriProblem(uri);
    if (problem !== undefined) throw new ValidationError(field, `${JSON.stringify(uri.slice(0, 200))} ${problem}`);
  }
  return [...new Set(uris)];
}

/**
 * A back-channel logout URI (Back-Channel Logout 1.0 §2.2): an absolute URL as a redirect URI is
 * (https, or http to the loopback interface for development), and no fragment. It may carry a query.
 */
function checkedBackchannelUri(uri: string | null | undefined): string | null {
  if (uri === undefined || uri === null || uri === '') return null;
  const problem = redirectUriProblem(uri);
  if (problem !== undefined) throw new ValidationError('backchannel_logout_uri', `${JSON.stringify(uri.slice(0, 200))} ${problem}`);
  return uri;
}

function checkedGrants(grants: readonly string[]): ClientGrantType[] {
  for (const grant of grants) {
    if (!(CLIENT_GRANT_TYPES as readonly string[]).includes(grant)) {
      throw new ValidationError(
        'grant_types',
        `Unknown grant type ${JSON.stringify(grant.slice(0, 64))}: use ${CLIENT_GRANT_TYPES.join(', ')}`,
      );
    }
  }
  return CLIENT_GRANT_TYPES.filter((grant) => grants.includes(grant));
}

/** The rules that tie a client's fields together. */
function checkCombination(type: ClientType, grants: readonly ClientGrantType[], redirectUris: readonly string[]): void {
  if (grants.length === 0) throw new ValidationError('grant_types', 'A client needs at least one grant type');
  if (type === 'public' && grants.includes('client_credentials')) {
    throw new ValidationError('grant_types', 'A public client has no secret, so it cannot use client_credentials');
  }
  if (type === 'public' && !grants.includes('authorization_code')) {
    throw new ValidationError('grant_types', 'A public client needs the authorization_code grant');
  }
  if (grants.includes('refresh_token') && !grants.includes('authorization_code')) {
    throw new ValidationError('grant_types', 'refresh_token comes with authorization_code (client_credentials issues no refresh token)');
  }
  if (grants.includes('authorization_code') && redirectUris.length === 0) {
    throw new ValidationError('redirect_uris', 'The authorization_code grant needs at least one redirect URI');
  }
}

export class ClientService {
  constructor(
    private readonly store: ClientStore,
    private readonly sessions: SessionStore,
    private readonly clock: Clock,
    private readonly audit: AuditLog,
    private readonly invalidation: Invalidation,
    private readonly lookup: (id: string) => Promise<Client | undefined>,
  ) {}

  /** A confidential service client for client_credentials (the registration of earlier versions). */
  async create(name: string, scopes: readonly string[], actor: string): Promise<CreatedClient> {
    const { client, secret } = await this.register(name, { scopes }, actor);
    return { client, secret: secret! };
  }

  async register(name: string, registration: ClientRegistration, actor: string): Promise<RegisteredClient> {
    if (!CLIENT_NAME.test(name)) {
      throw new ValidationError('name', 'Client name must be 1 to 64 letters, digits, . _ or -, starting with a letter or digit');
    }
    const type = registration.type ?? 'confidential';
    const redirectUris = checkedUris('redirect_uris', registration.redirectUris ?? []);
    const grantTypes = checkedGrants(
      registration.grantTypes ?? (redirectUris.length > 0 ? ['authorization_code', 'refresh_token'] : ['client_credentials']),
    );
    checkCombination(type, grantTypes, redirectUris);
    const fields = {
      id: `pc_${randomToken(16)}`,
      name,
      scopes: checkedScopes(registration.scopes ?? []),
      createdAt: this.clock.now(),
      redirectUris,
      grantTypes,
      firstParty: registration.firstParty ?? false,
      postLogoutRedirectUris: checkedUris('post_logout_redirect_uris', registration.postLogoutRedirectUris ?? []),
      backchannelLogoutUri: checkedBackchannelUri(registration.backchannelLogoutUri),
    };
    const secret = type === 'confidential' ? randomToken(32) : undefined;
    const client: Client =
      secret === undefined
        ? { ...fields, type: 'public', secretHash: null }
        : { ...fields, type: 'confidential', secretHash: hashSecret(secret) };
    await this.store.create(client);
    await this.audit.record({
      type: 'client.created',
      outcome: 'success',
      actor,
      subject: `client:${client.id}`,
      details: {
        name,
        type,
        grant_types: grantTypes.join(' '),
        redirect_uris: redirectUris.length,
        first_party: client.firstParty,
        backchannel_logout: client.backchannelLogoutUri !== null,
      },
    });
    return { client, secret };
  }

  /** Changes the given fields; the whole client is checked again. */
  async update(nameOrId: string, change: ClientChange, actor: string): Promise<Client> {
    const current = await this.find(nameOrId);
    const redirectUris = change.redirectUris === undefined ? current.redirectUris : checkedUris('redirect_uris', change.redirectUris);
    const grantTypes = change.grantTypes === undefined ? current.grantTypes : checkedGrants(change.grantTypes);
    checkCombination(current.type, grantTypes, redirectUris);
    const updated: Client = {
      ...current,
      scopes: change.scopes === undefined ? current.scopes : checkedScopes(change.scopes),
      redirectUris,
      grantTypes,
      firstParty: change.firstParty ?? current.firstParty,
      postLogoutRedirectUris:
        change.postLogoutRedirectUris === undefined
          ? current.postLogoutRedirectUris
          : checkedUris('post_logout_redirect_uris', change.postLogoutRedirectUris),
      backchannelLogoutUri:
        change.backchannelLogoutUri === undefined ? current.backchannelLogoutUri : checkedBackchannelUri(change.backchannelLogoutUri),
    };
    if (!(await this.store.update(updated))) throw new NotFoundError(`No client named ${JSON.stringify(nameOrId)}`);
    this.invalidation.clientChanged(current.id);
    await this.audit.record({
      type: 'client.updated',
      outcome: 'success',
      actor,
      subject: `client:${current.id}`,
      details: {
        name: current.name,
        fields: Object.keys(change)
          .filter((key) => change[key as keyof ClientChange] !== undefined)
          .join(' '),
      },
    });
    return updated;
  }

  /** The client of this name or id, or NotFoundError. */
  async find(nameOrId: string): Promise<Client> {
    const client = (await this.store.findByName(nameOrId)) ?? (await this.store.findById(nameOrId));
    if (!client) throw new NotFoundError(`No client named ${JSON.stringify(nameOrId)}`);
    return client;
  }

  list(): Promise<Client[]> {
    return this.store.list();
  }

  async remove(nameOrId: string, actor: string): Promise<void> {
    const client = await this.find(nameOrId);
    // Its users' sessions end with it: they could not be refreshed without it anyway.
    const ended = await this.sessions.revokeAllOfClient(client.id, 'client_removed', this.clock.now());
    if (!(await this.store.remove(client.id))) throw new NotFoundError(`No client named ${JSON.stringify(nameOrId)}`);
    this.invalidation.clientChanged(client.id);
    for (const id of ended) this.invalidation.sessionChanged(id);
    await this.audit.record({
      type: 'client.removed',
      outcome: 'success',
      actor,
      subject: `client:${client.id}`,
      details: { name: client.name, sessions_ended: ended.length },
    });
  }

  /** A registered client by id (cached), for the authorization endpoint and public clients at /token. */
  byId(id: string): Promise<Client | undefined> {
    return this.lookup(id);
  }

  /** The client whose credentials these are, or InvalidClientError (unknown id, wrong secret, public client alike). */
  async authenticate(credentials: ClientCredentials, ip: string | null): Promise<Client> {
    const client = await this.lookup(credentials.clientId);
    if (!client || client.secretHash === null || !secretMatches(credentials.clientSecret, client.secretHash)) {
      await this.audit.record({
        type: 'client.auth_failure',
        outcome: 'failure',
        subject: client ? `client:${client.id}` : null,
        ip,
      });
      throw new InvalidClientError();
    }
    return client;
  }
}
