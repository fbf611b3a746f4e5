/** `portcullis users add|list|show|update|disable|enable|remove|passwd|reset-password|reset-factors`. Every change is audited with the actor `cli`. */
import { CLI } from '../../core/action-context.js';
import type { UpdateUserInput } from '../../core/users/user-service.js';
import { toPublicUser, type PublicUser } from '../../core/users/user.js';
import { queueResetMail, resetUserFactors, withUserAdmin } from '../../server/admin.js';
import { booleanOption, scopesOption } from '../options.js';
import { readPassword, UsageError } from '../prompt.js';
import { printJson, printTable } from '../table.js';

export interface AddUserOptions {
  readonly scopes?: string;
  readonly email?: string;
  readonly fullName?: string;
  readonly disabled?: boolean;
  /** --mfa-required[=false]: require a second factor of the user whatever MFA_POLICY says. */
  readonly mfaRequired?: string | boolean;
  readonly passwordStdin?: boolean;
}

export async function addUserCommand(name: string, options: AddUserOptions): Promise<void> {
  const scopes = scopesOption(options.scopes);
  const mfaRequired = booleanOption(options.mfaRequired, '--mfa-required');
  const password = await readPassword(options.passwordStdin === true);
  await withUserAdmin(async ({ users }) => {
    const user = await users.create(
      {
        username: name,
        password,
        email: options.email ?? null,
        fullName: options.fullName ?? null,
        disabled: options.disabled === true,
        ...(scopes ? { scopes } : {}),
        ...(mfaRequired === undefined ? {} : { mfaRequired }),
      },
      CLI,
    );
    console.log(`Created user ${user.username}${user.scopes.length ? ` with scopes: ${user.scopes.join(' ')}` : ''}.`);
  });
}

export interface ListUsersOptions {
  readonly json?: boolean;
  readonly prefix?: string;
  readonly disabled?: boolean;
  readonly enabled?: boolean;
}

export async function listUsersCommand(options: ListUsersOptions): Promise<void> {
  const disabled = options.disabled ? true : options.enabled ? false : undefined;
  await withUserAdmin(async ({ users }) => {
    const rows: PublicUser[] = [];
    let after: string | undefined;
    do {
      const page = await users.list({
        limit: 500,
        ...(after === undefined ? {} : { after }),
        ...(options.prefix === undefined || options.prefix === '' ? {} : { prefix: options.prefix }),
        ...(disabled === undefined ? {} : { disabled }),
      });
      rows.push(...page.users.map(toPublicUser));
      after = page.next;
    } while (after !== undefined);
    if (options.json) {
      printJson(rows);
      return;
    }
    if (rows.length === 0) {
      console.log('No users.');
      return;
    }
    printTable(
      ['USERNAME', 'EMAIL', 'STATUS', 'SCOPES', 'CREATED'],
      rows.map((row) => [row.username, row.email ?? '', row.disabled ? 'disabled' : 'active', row.scopes.join(' '), row.created_at]),
    );
  });
}

function printUser(user: PublicUser): void {
  printTable(
    ['FIELD', 'VALUE'],
    [
      ['username', user.username],
      ['email', user.email ?? '-'],
      ['email_verified', user.email === null ? '-' : user.email_verified ? 'yes' : 'no'],
      ['full_name', user.full_name ?? '-'],
      ['status', user.disabled ? 'disabled' : 'active'],
      ['scopes', user.scopes.join(' ') || '-'],
      ['created_at', user.created_at],
      ['mfa_required', user.mfa_required ? 'yes' : 'no'],
    ],
  );
}

export async function showUserCommand(name: string, options: { readonly json?: boolean }): Promise<void> {
  await withUserAdmin(async ({ users }) => {
    const user = toPublicUser(await users.get(name));
    if (options.json) printJson(user);
    else printUser(user);
  });
}

export interface UpdateUserOptions {
  readonly email?: string;
  /** --email-verified / --no-email-verified: the operator says the address is the user's, or no longer. */
  readonly emailVerified?: boolean;
  readonly fullName?: string;
  readonly scopes?: string;
  readonly disable?: boolean;
  readonly enable?: boolean;
  /** --mfa-required[=false]: require a second factor of the user whatever MFA_POLICY says, or no longer. */
  readonly mfaRequired?: string | boolean;
  readonly json?: boolean;
}

export async function updateUserCommand(name: string, options: UpdateUserOptions): Promise<void> {
  const scopes = scopesOption(options.scopes);
  const disabled = options.disable ? true : options.enable ? false : undefined;
  const mfaRequired = booleanOption(options.mfaRequired, '--mfa-required');
  // '' clears the e-mail or the full name.
  const input: UpdateUserInput = {
    ...(options.email === undefined ? {} : { email: options.email === '' ? null : options.email }),
    ...(options.emailVerified === undefined ? {} : { emailVerified: options.emailVerified }),
    ...(options.fullName === undefined ? {} : { fullName: options.fullName === '' ? null : options.fullName }),
    ...(scopes === undefined ? {} : { scopes }),
    ...(disabled === undefined ? {} : { disabled }),
    ...(mfaRequired === undefined ? {} : { mfaRequired }),
  };
  if (Object.keys(input).length === 0) {
    throw new UsageError('nothing to update: give --email, --email-verified, --full-name, --scopes, --disable, --enable or --mfa-required');
  }
  await withUserAdmin(async ({ users }) => {
    const user = toPublicUser(await users.update(name, input, CLI));
    if (options.json) {
      printJson(user);
      return;
    }
    console.log(`Updated user ${user.username}.`);
    printUser(user);
  });
}

export async function setDisabledCommand(name: string, disabled: boolean): Promise<void> {
  await withUserAdmin(async ({ users }) => {
    await users.setDisabled(name, disabled, CLI);
    console.log(`${disabled ? 'Disabled' : 'Enabled'} user ${name}.`);
  });
}

export async function removeUserCommand(name: string): Promise<void> {
  await withUserAdmin(async ({ users }) => {
    await users.remove(name, CLI);
    console.log(`Removed user ${name}.`);
  });
}

export async function passwdCommand(name: string, options: { readonly passwordStdin?: boolean }): Promise<void> {
  await withUserAdmin(async ({ users }) => {
    await users.get(name);
    const password = await readPassword(options.passwordStdin === true);
    await users.setPassword(name, password, CLI);
    console.log(`Password changed for ${name}; every session of the user has ended.`);
  });
}

export async function resetPasswordCommand(name: string): Promise<void> {
  await withUserAdmin(async (admin) => {
    // queueResetMail returns the address only: the token lives in the outbox row and the mail, never
    // in this process's output (test/mail/mail.test.ts searches the command's output for it).
    const address = await queueResetMail(admin, name);
    console.log(`Queued a password reset mail for ${name} to ${address}; the running servers send it.`);
  });
}

export async function resetFactorsCommand(name: string): Promise<void> {
  await withUserAdmin(async (admin) => {
    const { removed, notified } = await resetUserFactors(admin, name);
    if (removed === 0) {
      console.log(`${name} has no second factors; nothing changed.`);
    } else {
      console.log(
        `Removed ${removed} second factor${removed === 1 ? '' : 's'} and the recovery codes of ${name}; ` +
          (notified ? 'queued a notice mail for the running servers to send.' : 'no notice mailed (no address, or no mail transport).'),
      );
    }
  });
}
