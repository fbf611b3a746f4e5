/**
 * `portcullis clients add|update|list|remove`: OAuth clients. A confidential client's secret is
 * printed once, at creation; only its SHA-256 is stored, and no listing ever shows either. A web
 * app of the authorization code flow registers its redirect URIs (`--redirect-uri`, repeatable)
 * and, for logout, `--post-logout-redirect-uri` and `--backchannel-logout-uri`;
 * `--public` makes a client without a secret (PKCE is its only proof), `--first-party` skips consent.
 */
import { CLI } from '../../core/action-context.js';
import type { ClientChange } from '../../core/clients/client-service.js';
import { toPublicClient } from '../../core/clients/client.js';
import { withUserAdmin } from '../../server/admin.js';
import { scopesOption } from '../options.js';
import { printCredentials, printJson, printTable } from '../table.js';

export interface ClientOptions {
  readonly scopes?: string;
  readonly redirectUri?: readonly string[];
  readonly postLogoutRedirectUri?: readonly string[];
  /** false: --no-backchannel-logout-uri (update: remove it). */
  readonly backchannelLogoutUri?: string | false;
  readonly grant?: readonly string[];
  readonly firstParty?: boolean;
  readonly json?: boolean;
}

function changeOf(options: ClientOptions): ClientChange {
  const scopes = scopesOption(options.scopes);
  return {
    ...(scopes === undefined ? {} : { scopes }),
    ...(options.redirectUri === undefined ? {} : { redirectUris: options.redirectUri }),
    ...(options.postLogoutRedirectUri === undefined ? {} : { postLogoutRedirectUris: options.postLogoutRedirectUri }),
    ...(options.backchannelLogoutUri === undefined
      ? {}
      : { backchannelLogoutUri: options.backchannelLogoutUri === false ? null : options.backchannelLogoutUri }),
    ...(options.grant === undefined ? {} : { grantTypes: options.grant }),
    ...(options.firstParty === undefined ? {} : { firstParty: options.firstParty }),
  };
}

export async function addClientCommand(name: string, options: ClientOptions & { readonly public?: boolean }): Promise<void> {
  await withUserAdmin(async ({ clients }) => {
    const { client, secret } = await clients.register(
      name,
      { ...changeOf(options), type: options.public ? 'public' : 'confidential' },
      CLI.actor,
    );
    // stdout carries the credentials (for scripts to capture); the notice goes to stderr, for the person.
    if (options.json) {
      printJson({ ...toPublicClient(client), ...(secret === undefined ? {} : { client_secret: secret }) });
    } else {
      printCredentials({ client_id: client.id, ...(secret === undefined ? {} : { client_secret: secret }) });
    }
    console.error(
      `Created ${client.type} client ${client.name}${client.scopes.length ? ` with scopes: ${client.scopes.join(' ')}` : ''}` +
        ` (grants: ${client.grantTypes.join(' ')}). ` +
        (secret === undefined
          ? 'It has no secret: it proves itself with PKCE at each code exchange.'
          : 'Store the client secret now: it is not shown again (only its hash is kept).'),
    );
  });
}

export async function updateClientCommand(nameOrId: string, options: ClientOptions): Promise<void> {
  await withUserAdmin(async ({ clients }) => {
    const client = await clients.update(nameOrId, changeOf(options), CLI.actor);
    if (options.json) printJson(toPublicClient(client));
    else process.stdout.write(`Updated client ${client.name}.\n`);
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
      ['CLIENT_ID', 'NAME', 'TYPE', 'GRANTS', 'SCOPES', 'REDIRECT_URIS', 'CREATED'],
      rows.map((row) => [
        row.client_id,
        row.name,
        row.type + (row.first_party ? ' (first party)' : ''),
        row.grant_types.join(' '),
        row.scopes.join(' '),
        row.redirect_uris.join(' '),
        row.created_at,
      ]),
    );
  });
}

export async function removeClientCommand(nameOrId: string): Promise<void> {
  await withUserAdmin(async ({ clients }) => {
    await clients.remove(nameOrId, CLI.actor);
    process.stdout.write(`Removed client ${nameOrId}; its tokens stop working.\n`);
  });
}
