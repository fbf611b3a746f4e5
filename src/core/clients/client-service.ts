/**
 * Confidential service clients: created with a random id and a 256-bit
 * secret (shown once, stored as SHA-256), authenticated with HTTP Basic or
 * form fields (RFC 6749 §2.3.1).
 */
import type { AuditLog } from '../audit/audit-log.js';
import type { Invalidation } from '../auth-cache.js';
import type { Clock } from '../clock.js';
import { InvalidClientError, NotFoundError, ValidationError } from '../errors.js';
import type { ClientStore, SessionStore } from '../ports.js';
import { hashSecret, randomToken, secretMatches } from '../secrets.js';
import { parseScopeList } from '../tokens/scopes.js';
import type { Client, ClientCredentials } from './client.js';

const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface CreatedClient {
  readonly client: Client;
  /** Shown once; only its hash is kept. */
  readonly secret: string;
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

  async create(name: string, scopes: readonly string[], actor: string): Promise<CreatedClient> {
    if (!CLIENT_NAME.test(name)) {
      throw new ValidationError('name', 'Client name must be 1 to 64 letters, digits, . _ or -, starting with a letter or digit');
    }
    let checkedScopes: string[];
    try {
      checkedScopes = parseScopeList(scopes.join(' '));
    } catch (error) {
      throw new ValidationError('scopes', `Invalid scopes: ${(error as Error).message}`);
    }
    const secret = randomToken(32);
    const client: Client = {
      id: `pc_${randomToken(16)}`,
      name,
      secretHash: hashSecret(secret),
      scopes: checkedScopes,
      createdAt: this.clock.now(),
    };
    await this.store.create(client);
    await this.audit.record({ type: 'client.created', outcome: 'success', actor, subject: `client:${client.id}`, details: { name } });
    return { client, secret };
  }

  list(): Promise<Client[]> {
    return this.store.list();
  }

  async remove(nameOrId: string, actor: string): Promise<void> {
    const client = (await this.store.findByName(nameOrId)) ?? (await this.store.findById(nameOrId));
    if (!client) throw new NotFoundError(`No client named ${JSON.stringify(nameOrId)}`);
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

  /** The client whose credentials these are, or InvalidClientError (unknown id and wrong secret alike). */
  async authenticate(credentials: ClientCredentials, ip: string | null): Promise<Client> {
    const client = await this.lookup(credentials.clientId);
    if (!client || !secretMatches(credentials.clientSecret, client.secretHash)) {
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
