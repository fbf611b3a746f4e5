/** `portcullis users add|list|disable|enable|remove|passwd`. */
import { parseScopeList } from '../../core/tokens/scopes.js';
import { toPublicUser, type PublicUser } from '../../core/users/user.js';
import { withUserAdmin } from '../context.js';
import { readPassword, UsageError } from '../prompt.js';

export interface AddUserOptions {
  readonly scopes?: string;
  readonly email?: string;
  readonly fullName?: string;
  readonly disabled?: boolean;
  readonly passwordStdin?: boolean;
}

function scopesOption(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  try {
    return parseScopeList(value);
  } catch (error) {
    throw new UsageError(`--scopes: ${(error as Error).message}`);
  }
}

export async function addUserCommand(name: string, options: AddUserOptions): Promise<void> {
  const scopes = scopesOption(options.scopes);
  const password = await readPassword(options.passwordStdin === true);
  await withUserAdmin(async ({ users }) => {
    const user = await users.create({
      username: name,
      password,
      email: options.email ?? null,
      fullName: options.fullName ?? null,
      disabled: options.disabled === true,
      ...(scopes ? { scopes } : {}),
    });
    console.log(`Created user ${user.username}${user.scopes.length ? ` with scopes: ${user.scopes.join(' ')}` : ''}.`);
  });
}

export async function listUsersCommand(options: { readonly json?: boolean }): Promise<void> {
  await withUserAdmin(async ({ users }) => {
    const rows: PublicUser[] = [];
    let after: string | undefined;
    do {
      const page = await users.list({ limit: 500, ...(after === undefined ? {} : { after }) });
      rows.push(...page.users.map(toPublicUser));
      after = page.next;
    } while (after !== undefined);
    if (options.json) {
      console.log(JSON.stringify(rows, null, 2));
      return;
    }
    if (rows.length === 0) {
      console.log('No users.');
      return;
    }
    const table = rows.map((row) => [
      row.username,
      row.email ?? '',
      row.disabled ? 'disabled' : 'active',
      row.scopes.join(' '),
      row.created_at,
    ]);
    const header = ['USERNAME', 'EMAIL', 'STATUS', 'SCOPES', 'CREATED'];
    const widths = header.map((title, i) => Math.max(title.length, ...table.map((row) => row[i]!.length)));
    for (const row of [header, ...table]) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  });
}

export async function setDisabledCommand(name: string, disabled: boolean): Promise<void> {
  await withUserAdmin(async ({ users }) => {
    await users.setDisabled(name, disabled);
    console.log(`${disabled ? 'Disabled' : 'Enabled'} user ${name}.`);
  });
}

export async function removeUserCommand(name: string): Promise<void> {
  await withUserAdmin(async ({ users }) => {
    await users.remove(name);
    console.log(`Removed user ${name}.`);
  });
}

export async function passwdCommand(name: string, options: { readonly passwordStdin?: boolean }): Promise<void> {
  await withUserAdmin(async ({ users }) => {
    await users.get(name);
    const password = await readPassword(options.passwordStdin === true);
    await users.setPassword(name, password);
    console.log(`Password changed for ${name}.`);
  });
}
