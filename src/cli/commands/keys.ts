/**
 * `portcullis keys list|rotate|retire`: the key store's signing keys (with an HMAC ALGORITHM, the RS256
 * keys of ID and logout tokens). Running
 * servers answer the next request with the change in effect: on SQLite they
 * see the commit, on PostgreSQL the command waits until they confirm it
 * (see README, "Signing keys").
 */
import { CLI } from '../../core/action-context.js';
import { withKeyAdmin as withKeys } from '../../server/admin.js';
import { printJson, printTable } from '../table.js';

export async function listKeysCommand(options: { readonly json?: boolean }): Promise<void> {
  await withKeys(async (keys) => {
    const rows = (await keys.list()).map((key) => ({
      kid: key.kid,
      algorithm: key.algorithm,
      state: key.state,
      created_at: new Date(key.createdAt).toISOString(),
      activated_at: key.activatedAt === null ? null : new Date(key.activatedAt).toISOString(),
      retired_at: key.retiredAt === null ? null : new Date(key.retiredAt).toISOString(),
    }));
    if (options.json) {
      printJson(rows);
      return;
    }
    if (rows.length === 0) {
      console.log('No signing keys yet: start the server once (it creates them).');
      return;
    }
    printTable(
      ['KID', 'ALGORITHM', 'STATE', 'CREATED', 'ACTIVATED', 'RETIRED'],
      rows.map((row) => [row.kid, row.algorithm, row.state, row.created_at, row.activated_at ?? '', row.retired_at ?? '']),
    );
  });
}

export async function rotateKeysCommand(options: { readonly force?: boolean }): Promise<void> {
  await withKeys(async (keys) => {
    await keys.ensure();
    const result = await keys.rotate(CLI, { force: options.force === true });
    if (!result.rotated) {
      console.log('Another process rotated the keys at the same moment; nothing more was done.');
      return;
    }
    console.log(
      `Rotated: ${result.current} now signs; ${result.retired ?? '(none)'} is retired; ${result.next} is published as the next key.`,
    );
  });
}

export async function retireKeyCommand(kid: string): Promise<void> {
  await withKeys(async (keys) => {
    await keys.retire(kid, CLI);
    console.log(`Retired ${kid}: it no longer signs or verifies.`);
  });
}
