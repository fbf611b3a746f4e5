/** OAuth clients over Kysely: lists of URIs, grants and scopes as space-separated text; a public client's secret_hash is ''. */
import type { Selectable } from 'kysely';
import type { Client, ClientGrantType } from '../../core/clients/client.js';
import type { ClientStore } from '../../core/ports.js';
import type { SqlDialect } from './dialects/dialect.js';
import { guardDriverErrors } from './driver-errors.js';
import type { ClientsTable } from './schema.js';
import { fromIso, iso } from './sql-time.js';

export class SqlClientStore implements ClientStore {
  constructor(private readonly dialect: SqlDialect) {}

  private get db() {
    return this.dialect.db;
  }

  async create(client: Client): Promise<void> {
    await guardDriverErrors(
      this.dialect,
      () =>
        this.db
          .insertInto('clients')
          .values({ id: client.id, name: client.name, created_at: iso(client.createdAt), ...columnsOf(client) })
          .execute(),
      'client_name',
    );
  }

  async findById(id: string): Promise<Client | undefined> {
    const row = await guardDriverErrors(this.dialect, () =>
      this.db.selectFrom('clients').selectAll().where('id', '=', id).executeTakeFirst(),
    );
    return row && toClient(row);
  }

  async findByName(name: string): Promise<Client | undefined> {
    const row = await guardDriverErrors(this.dialect, () =>
      this.db.selectFrom('clients').selectAll().where('name', '=', name).executeTakeFirst(),
    );
    return row && toClient(row);
  }

  async list(): Promise<Client[]> {
    const rows = await guardDriverErrors(this.dialect, () => this.db.selectFrom('clients').selectAll().orderBy('name').execute());
    return rows.map(toClient);
  }

  async update(client: Client): Promise<boolean> {
    const result = await guardDriverErrors(this.dialect, () =>
      this.db.updateTable('clients').set(columnsOf(client)).where('id', '=', client.id).executeTakeFirst(),
    );
    return result.numUpdatedRows > 0n;
  }

  async remove(id: string): Promise<boolean> {
    const result = await guardDriverErrors(this.dialect, () => this.db.deleteFrom('clients').where('id', '=', id).executeTakeFirst());
    return result.numDeletedRows > 0n;
  }
}

const list = (value: string): string[] => (value === '' ? [] : value.split(' '));

/** The columns a change may write (all but id, name and created_at). */
function columnsOf(client: Client) {
  return {
    type: client.type,
    secret_hash: client.secretHash ?? '',
    scopes: client.scopes.join(' '),
    redirect_uris: client.redirectUris.join(' '),
    grant_types: client.grantTypes.join(' '),
    first_party: client.firstParty ? 1 : 0,
    post_logout_redirect_uris: client.postLogoutRedirectUris.join(' '),
    backchannel_logout_uri: client.backchannelLogoutUri ?? '',
  };
}

function toClient(row: Selectable<ClientsTable>): Client {
  const fields = {
    id: row.id,
    name: row.name,
    scopes: list(row.scopes),
    createdAt: fromIso(row.created_at),
    redirectUris: list(row.redirect_uris),
    grantTypes: list(row.grant_types) as ClientGrantType[],
    firstParty: row.first_party === 1,
    postLogoutRedirectUris: list(row.post_logout_redirect_uris),
    backchannelLogoutUri: row.backchannel_logout_uri === '' ? null : row.backchannel_logout_uri,
  };
  return row.type === 'public'
    ? { ...fields, type: 'public', secretHash: null }
    : { ...fields, type: 'confidential', secretHash: row.secret_hash };
}
