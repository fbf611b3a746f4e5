/** ClientStore in a Map: names are unique (ClientNameTakenError), lists are ordered by name in code point order. */
import type { Client } from '../../core/clients/client.js';
import { ClientNameTakenError } from '../../core/errors.js';
import type { ClientStore } from '../../core/ports.js';
import { compareCodePoints } from './code-point-order.js';

export class MemoryClientStore implements ClientStore {
  private readonly byId = new Map<string, Client>();

  async create(client: Client): Promise<void> {
    if (this.byId.has(client.id) || [...this.byId.values()].some((held) => held.name === client.name)) throw new ClientNameTakenError();
    this.byId.set(client.id, frozen(client));
  }

  async update(client: Client): Promise<boolean> {
    const held = this.byId.get(client.id);
    if (!held) return false;
    this.byId.set(client.id, frozen({ ...client, name: held.name, createdAt: held.createdAt }));
    return true;
  }

  async findById(id: string): Promise<Client | undefined> {
    return this.byId.get(id);
  }

  async findByName(name: string): Promise<Client | undefined> {
    return [...this.byId.values()].find((client) => client.name === name);
  }

  async list(): Promise<Client[]> {
    return [...this.byId.values()].sort((a, b) => compareCodePoints(a.name, b.name));
  }

  async remove(id: string): Promise<boolean> {
    return this.byId.delete(id);
  }
}

function frozen(client: Client): Client {
  return Object.freeze({
    ...client,
    scopes: Object.freeze([...client.scopes]),
    redirectUris: Object.freeze([...client.redirectUris]),
    grantTypes: Object.freeze([...client.grantTypes]),
    postLogoutRedirectUris: Object.freeze([...client.postLogoutRedirectUris]),
  });
}
