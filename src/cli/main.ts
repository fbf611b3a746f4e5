/** The `portcullis` command line. Exit codes: 0 ok, 1 usage, 2 failure. */
import type * as Commander from 'commander';
import type { Command } from 'commander';
import { ConfigError } from '../core/config.js';
import { PortcullisError } from '../core/errors.js';
import { packageVersion } from '../package-info.js';
import type { AuditOptions } from './commands/audit.js';
import type { DbCopyOptions } from './commands/db-copy.js';
import type { importUsersCommand } from './commands/users-import.js';
import { loadEnvFile } from './env-file.js';
import { describeError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '../server/exit-codes.js';
import { collectOption, integerOption } from './options.js';
import { UsageError } from './prompt.js';

/**
 * A command's module is loaded when it runs, not when the CLI starts: `serve` does not load the
 * CSV importer, and `users add` does not load the HTTP server.
 */
function lazy<A extends unknown[], R>(load: () => Promise<(...args: A) => R>): (...args: A) => Promise<Awaited<R>> {
  return async (...args: A): Promise<Awaited<R>> => {
    const command = await load();
    return await command(...args);
  };
}

/** The option parser, loaded when there are options to parse (see main). */
let commander: typeof Commander | undefined;

async function buildProgram(setExitCode: (code: number) => void): Promise<Command> {
  commander ??= await import('commander');
  const { Command, Option } = commander;
  const program = new Command('portcullis')
    .description('Self-hosted authentication server: password login, JWT access tokens, user management.')
    .version(packageVersion())
    .exitOverride()
    .showHelpAfterError('(run portcullis --help for usage)')
    .addHelpText(
      'after',
      '\nConfiguration comes from the environment (SECRET_KEY, DATABASE_URL, HOST, PORT, ...); see docs/configuration.md.\n' +
        'A .env file in the working directory is read first (or the file of --dotenv PATH, given before the command);\n' +
        'variables already in the environment win over it.\nExit codes: 0 ok, 1 usage error, 2 failure.',
    );

  program
    .command('serve')
    .description('serve the HTTP API (runs migrations first)')
    .option('--workers <n>', 'processes sharing the port, 1 to 256 (default: WORKERS, else the number of cores; 1: no cluster)')
    .action(async (options: { workers?: string }) =>
      setExitCode(
        await (await import('./commands/serve.js')).serveCommand({ workers: integerOption(options.workers, '--workers', 1, 256) }),
      ),
    );
  program
    .command('migrate')
    .description('create or upgrade the database schema')
    .action(lazy(async () => (await import('./commands/migrate.js')).migrateCommand));
  const db = program.command('db').description('move a deployment between databases');
  db.command('copy')
    .description('copy every table into a new, empty database (SQLite to PostgreSQL, or back), verifying the row counts')
    .requiredOption('--from <url>', 'the database to copy: sqlite:PATH or postgres://USER@HOST:PORT/DATABASE')
    .requiredOption('--to <url>', 'an empty database to copy into (migrated first)')
    .option('--batch-size <n>', 'rows per read, 1 to 100000 (default 1000)')
    .action(async (options: DbCopyOptions) => setExitCode(await (await import('./commands/db-copy.js')).dbCopyCommand(options)));

  const users = program.command('users').description('manage user accounts');
  users
    .command('add')
    .description('create a user (prompts for the password twice, without echo)')
    .argument('<name>', 'username')
    .option('--scopes <scopes>', 'comma- or space-separated scopes to grant')
    .option('--email <email>', 'e-mail address')
    .option('--full-name <name>', 'full name')
    .option('--disabled', 'create the account disabled')
    .option('--mfa-required [bool]', 'require a second factor of the user whatever MFA_POLICY says (they enrol one at login)')
    .option('--password-stdin', 'read the password from standard input')
    .action(lazy(async () => (await import('./commands/users.js')).addUserCommand));
  users
    .command('list')
    .description('list users')
    .option('--prefix <prefix>', 'only usernames that start with this (case-insensitive)')
    .addOption(new Option('--disabled', 'only disabled users').conflicts('enabled'))
    .addOption(new Option('--enabled', 'only enabled users'))
    .option('--json', 'print JSON')
    .action(lazy(async () => (await import('./commands/users.js')).listUsersCommand));
  users
    .command('show')
    .description('show a user')
    .argument('<name>')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await import('./commands/users.js')).showUserCommand));
  users
    .command('update')
    .description(
      "change a user's e-mail, its verification, full name, scopes, state or MFA requirement (an empty value clears e-mail or name)",
    )
    .argument('<name>')
    .option('--email <email>', 'e-mail address (unverified unless --email-verified is given too)')
    .option('--email-verified', 'mark the e-mail address verified (the operator vouches for it)')
    .option('--no-email-verified', 'mark the e-mail address unverified')
    .option('--full-name <name>', 'full name')
    .option('--scopes <scopes>', 'the scopes the user holds from now on, comma- or space-separated')
    .addOption(new Option('--disable', 'disable the user: existing tokens stop working').conflicts('enable'))
    .addOption(new Option('--enable', 'enable the user'))
    .option(
      '--mfa-required [bool]',
      'require a second factor of the user whatever MFA_POLICY says; --mfa-required=false leaves it to MFA_POLICY',
    )
    .option('--json', 'print the user as JSON')
    .action(lazy(async () => (await import('./commands/users.js')).updateUserCommand));
  users
    .command('disable')
    .description('disable a user: no new tokens, existing ones stop working')
    .argument('<name>')
    .action(async (name: string) => (await import('./commands/users.js')).setDisabledCommand(name, true));
  users
    .command('enable')
    .description('enable a disabled user')
    .argument('<name>')
    .action(async (name: string) => (await import('./commands/users.js')).setDisabledCommand(name, false));
  users
    .command('remove')
    .description('delete a user')
    .argument('<name>')
    .action(lazy(async () => (await import('./commands/users.js')).removeUserCommand));
  users
    .command('passwd')
    .description("set a user's password")
    .argument('<name>')
    .option('--password-stdin', 'read the password from standard input')
    .action(lazy(async () => (await import('./commands/users.js')).passwdCommand));
  users
    .command('reset-password')
    .description('mail the user a password reset link (queued for the running servers to send)')
    .argument('<name>')
    .action(lazy(async () => (await import('./commands/users.js')).resetPasswordCommand));
  users
    .command('reset-factors')
    .description("remove the user's second factors and recovery codes (audited; the user is notified by mail)")
    .argument('<name>')
    .action(lazy(async () => (await import('./commands/users.js')).resetFactorsCommand));
  users
    .command('sessions')
    .description("list a user's active sessions (logins)")
    .argument('<name>')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await import('./commands/user-sessions.js')).listSessionsCommand));
  users
    .command('revoke-sessions')
    .description("end a user's sessions: their refresh and access tokens stop working")
    .argument('<name>')
    .option('--session <id>', 'end only this session')
    .action(lazy(async () => (await import('./commands/user-sessions.js')).revokeSessionsCommand));
  users
    .command('import')
    .description('import users with their password hashes from another system (see docs/migrating.md)')
    .argument('<file>', "the source's export")
    .option('--from <source>', 'fastapi (default), csv, jsonl, django, supabase, keycloak, firebase, auth0, wordpress')
    .option('--format <format>', 'json or csv, for sources that read both (default: from the file extension)')
    .option('--dry-run', 'print what would be imported, skipped and rejected, and write nothing')
    .option('--update', 'replace users that exist (hash, e-mail, flags) instead of skipping them')
    .option('--scopes <scopes>', 'scopes to grant every imported user')
    .option('--skip-invalid', 'import the valid records even if some are rejected')
    .option('--allow-weak', 'also import weak hashes (salted SHA-1/SHA-256); they are upgraded at the first login')
    .option('--admin-from-staff', 'django: give is_staff/is_superuser users the admin scope')
    .option('--scopes-from-roles', "keycloak: the users' realm roles become scopes")
    .option('--hash-key <base64>', "firebase: the project's base64 signer key")
    .option('--salt-separator <base64>', "firebase: the project's base64 salt separator")
    .option('--rounds <n>', "firebase: the project's rounds")
    .option('--mem-cost <n>', "firebase: the project's memory cost")
    .action(async (file: string, options: Parameters<typeof importUsersCommand>[1]) =>
      setExitCode(await (await import('./commands/users-import.js')).importUsersCommand(file, options)),
    );

  const clients = program
    .command('clients')
    .description('manage OAuth clients: service clients and web apps of the authorization code flow');
  const clientFields = (command: Command, verb: string): Command =>
    command
      .option('--scopes <scopes>', `comma- or space-separated scopes the client may hold${verb}`)
      .option('--redirect-uri <url>', `a redirect URI of the code flow, exact (repeat for more)${verb}`, collectOption)
      .option('--grant <type>', `client_credentials, authorization_code or refresh_token (repeat for more)${verb}`, collectOption)
      .option('--post-logout-redirect-uri <url>', `where sign-out may return to (repeat for more)${verb}`, collectOption)
      .option('--backchannel-logout-uri <url>', `where back-channel logout tokens are POSTed (https, or http to localhost)${verb}`)
      .option('--first-party', 'one of yours: users are not asked for consent')
      .option('--json', 'print JSON');
  clientFields(
    clients
      .command('add')
      .description(
        'create a client; prints its client_id (and client_secret, only this once). With --redirect-uri the client ' +
          'defaults to the authorization_code and refresh_token grants, else to client_credentials',
      )
      .argument('<name>', 'a name: letters, digits, . _ -')
      .option('--public', 'a public client (browser or native app): no secret, PKCE only'),
    '',
  ).action(lazy(async () => (await import('./commands/clients.js')).addClientCommand));
  clientFields(
    clients
      .command('update')
      .description('change a client (the lists given replace the old ones)')
      .argument('<name-or-id>', 'the client name or client_id'),
    ' (replaces)',
  )
    .option('--no-first-party', 'ask users for consent')
    .option('--no-backchannel-logout-uri', 'send the client no more logout tokens')
    .action(lazy(async () => (await import('./commands/clients.js')).updateClientCommand));
  clients
    .command('list')
    .description('list clients (never their secrets)')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await import('./commands/clients.js')).listClientsCommand));
  clients
    .command('remove')
    .description('delete a client; its tokens stop working')
    .argument('<name-or-id>', 'the client name or client_id')
    .action(lazy(async () => (await import('./commands/clients.js')).removeClientCommand));

  program
    .command('audit')
    .description('print the audit log, newest first')
    .option('--type <type>', 'only events of this type (user.created, login.failure, ...)')
    .option('--subject <subject>', 'only events about this user or client:<id>')
    .option('--actor <actor>', 'only events by this user, client:<id> or cli')
    .addOption(new Option('--outcome <outcome>', 'only successes or failures').choices(['success', 'failure']))
    .option('--since <time>', 'only events at or after this ISO 8601 date or date-time')
    .option('--until <time>', 'only events before this ISO 8601 date or date-time')
    .option('--limit <n>', 'at most this many events (default 50)')
    .option('--json', 'print JSON')
    .action(async (options: AuditOptions) => (await import('./commands/audit.js')).auditCommand(options));
  const mail = program.command('mail').description('the mail channel: a test message, the outbox (docs/mail.md)');
  mail
    .command('test')
    .description('queue a test message to ADDRESS and wait until it is sent or given up on')
    .argument('<address>', 'where to send it')
    .option('--timeout <seconds>', 'longest wait, 1 to 3600 (default 30)')
    .option('--no-relay', 'only queue it: a running server sends it')
    .action(async (address: string, options: { timeout?: string; relay?: boolean }) =>
      setExitCode(await (await import('./commands/mail.js')).mailTestCommand(address, options)),
    );
  mail
    .command('status')
    .description('count the outbox: queued, sent, failed, the oldest queued message')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await import('./commands/mail.js')).mailStatusCommand));
  const keys = program.command('keys').description('manage asymmetric signing keys (ALGORITHM=EdDSA, ES256, RS256, PS256)');
  keys
    .command('list')
    .description('list signing keys and their states')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await import('./commands/keys.js')).listKeysCommand));
  keys
    .command('rotate')
    .description('promote the next key to current, retire the current one, publish a new next key')
    .option('--force', 'rotate even if the next key was published less than JWKS_MAX_AGE_SECONDS ago')
    .action(lazy(async () => (await import('./commands/keys.js')).rotateKeysCommand));
  keys
    .command('retire')
    .description('take a key out of use now (a compromised key): tokens it signed stop working')
    .argument('<kid>', 'the key id')
    // A key id is base64url: one in 64 begins with "-", which must not be taken for an option.
    .allowUnknownOption()
    .action(lazy(async () => (await import('./commands/keys.js')).retireKeyCommand));
  return program;
}

export async function main(commandLine: readonly string[]): Promise<number> {
  let argv: readonly string[];
  try {
    argv = loadEnvFile(commandLine); // before anything reads a setting
  } catch (error) {
    return run(() => Promise.reject(error));
  }
  // `portcullis serve` as a service manager or container runs it: nothing to parse, so the start does not wait
  // for the option parser to load. Anything else (options, --help, other commands) goes through commander.
  if (argv.length === 1 && argv[0] === 'serve') return run(async () => (await import('./commands/serve.js')).serveCommand({}));
  let exitCode = EXIT_OK;
  const program = await buildProgram((code) => {
    exitCode = code;
  });
  return run(async () => {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  });
}

/** A command's exit code; what it throws is reported on stderr and becomes the exit code. */
async function run(command: () => Promise<number>): Promise<number> {
  try {
    return await command();
  } catch (error) {
    if (commander !== undefined && error instanceof commander.CommanderError) {
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    console.error(`portcullis: ${describeError(error)}`);
    if (error instanceof UsageError) return EXIT_USAGE;
    if (error instanceof ConfigError || error instanceof PortcullisError) return EXIT_FAILURE;
    return EXIT_FAILURE;
  }
}
