/**
 * `portcullis clients add|list|remove`: confidential service clients for the
 * client_credentials grant. The secret is printed once, at creation; only
 * its SHA-256 is stored, and no listing ever shows either.
 */
import { CLI } from '../../core/action-context.js';
import { toPublicClient } from '../../core/clients/client.js';
import { withUserAdmin } from '../../server/admin.js';
import { scopesOption } from '../options.js';
import { printCredentials, printJson, printTable } from '../table.js';

export async function addClientCommand(name: string, options: { readonly scopes?: string; readonly json?: boolean }): Promise<void> {
  const scopes = scopesOption(options.scopes) ?? [];
  await withUserAdmin(async ({ clients }) => {
    const { client, secret } = await clients.create(name, scopes, CLI.actor);
    // stdout carries the credentials (for scripts to capture); the notice goes to stderr, for the person.
    if (options.json) {
      printJson({ ...toPublicClient(client), client_secret: secret });
    } else {
      printCredentials({ client_id: client.id, client_secret: secret });
    }
    console.error(
      `Created client ${client.name}${client.scopes.length ? ` with scopes: ${client.scopes.join(' ')}` : ''}. ` +
        'Store the client secret now: it is not shown again (only its hash is kept).',
    );
  });
}

export async function listClientsCommand(options: { readonly json?: boolean }): Promise<void> {
  await withUserAdmin(async ({ clients }) => {
    const rows = (await clients.list()).map(toPublicClient);
    if (options.json) {
      printJson(rows);
      return;
    }
    if (rows.length === 0) {
      console.log('No clients.');
      return;
    }
    printTable(
      ['CLIENT_ID', 'NAME', 'SCOPES', 'CREATED'],
      rows.map((row) => [row.client_id, row.name, row.scopes.join(' '), row.created_at]),
    );
  });
}

export async function removeClientCommand(nameOrId: string): Promise<void> {
  await withUserAdmin(async ({ clients }) => {
    await clients.remove(nameOrId, CLI.actor);
    process.stdout.write(`Removed client ${nameOrId}; its tokens stop working.\n`);
  });
}
