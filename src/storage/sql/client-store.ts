/** Service clients over Kysely. */
import type { Selectable } from 'kysely';
import type { Client } from '../../core/clients/client.js';
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
          .values({
            id: client.id,
            name: client.name,
            secret_hash: client.secretHash,
            scopes: client.scopes.join(' '),
            created_at: iso(client.createdAt),
          })
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

  async remove(id: string): Promise<boolean> {
    const result = await guardDriverErrors(this.dialect, () => this.db.deleteFrom('clients').where('id', '=', id).executeTakeFirst());
    return result.numDeletedRows > 0n;
  }
}

function toClient(row: Selectable<ClientsTable>): Client {
  return {
    id: row.id,
    name: row.name,
    secretHash: row.secret_hash,
    scopes: row.scopes === '' ? [] : row.scopes.split(' '),
    createdAt: fromIso(row.created_at),
  };
}
