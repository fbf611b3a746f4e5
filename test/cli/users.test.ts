import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import {
  cliEnv,
  makeDataDir,
  runCli,
  startServe,
  tokenRequest,
  type CliResult,
  type RunOptions,
  type ServeProcess,
} from '../helpers/cli.js';

const PASSWORD = 'Tr0ubadour-and-horse-staple';
const NEW_PASSWORD = 'quiet-Lantern-harbour-71';

/** Every command's output, so that the tests can assert that no password was ever printed. */
function recorder(dataDir: string) {
  const printed: string[] = [];
  return {
    printed,
    async run(args: readonly string[], options: Omit<RunOptions, 'env'> = {}): Promise<CliResult> {
      const result = await runCli(args, { ...options, env: cliEnv(dataDir) });
      printed.push(result.stdout, result.stderr);
      return result;
    },
  };
}

function assertNoSecretPrinted(printed: readonly string[], ...secrets: string[]): void {
  const all = printed.join('\n');
  for (const secret of secrets) assert.ok(!all.includes(secret), 'a password was printed');
}

describe('portcullis users add and list', () => {
  const dataDir = makeDataDir();
  const { run, printed } = recorder(dataDir);
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('adds a user with the password from stdin', async () => {
    const result = await run(['users', 'add', 'alice', '--password-stdin', '--scopes', 'me,items', '--email', 'a@example.com'], {
      input: `${PASSWORD}\n`,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /alice/);
  });

  it('lists the user with its scopes', async () => {
    const result = await run(['users', 'list']);
    assert.equal(result.code, 0, result.stderr);
    const line = result.stdout.split('\n').find((row) => row.startsWith('alice'));
    assert.ok(line, result.stdout);
    assert.match(line, /a@example\.com/);
    assert.match(line, /\bactive\b/);
    assert.match(line, /\bme items\b/);
  });

  it('lists users as JSON without any password or hash field', async () => {
    const result = await run(['users', 'list', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const rows = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.username, 'alice');
    assert.equal(rows[0]!.email, 'a@example.com');
    assert.deepEqual(rows[0]!.scopes, ['me', 'items']);
    assert.equal(rows[0]!.disabled, false);
    assert.doesNotMatch(result.stdout, /password|hash|\$argon2|\$2[aby]\$/i);
  });

  it('refuses a username that differs only in case with exit 2', async () => {
    const result = await run(['users', 'add', 'Alice', '--password-stdin'], { input: `${NEW_PASSWORD}\n` });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /already registered/i);
  });

  it('refuses a common password with exit 2 and a clear message', async () => {
    const result = await run(['users', 'add', 'bob', '--password-stdin'], { input: 'password1\n' });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /password/i);
    assert.match(result.stderr, /common|guess/i);
  });

  it('refuses an empty standard input', async () => {
    const result = await run(['users', 'add', 'bob', '--password-stdin'], { input: '' });
    assert.ok(result.code === 1 || result.code === 2, `exit ${result.code}`);
    assert.match(result.stderr, /no password/i);
  });

  it('asks for --password-stdin when stdin is not a terminal', async () => {
    const result = await run(['users', 'add', 'bob'], { input: `${PASSWORD}\n` });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--password-stdin/);
  });

  it('created nothing with the refused commands', async () => {
    const result = await run(['users', 'list', '--json']);
    assert.deepEqual(
      (JSON.parse(result.stdout) as Array<{ username: string }>).map((row) => row.username),
      ['alice'],
    );
  });

  it('never prints a password', () => {
    assertNoSecretPrinted(printed, PASSWORD, NEW_PASSWORD, 'password1');
  });
});

describe('portcullis users disable, enable, passwd and remove', () => {
  const dataDir = makeDataDir();
  const { run, printed } = recorder(dataDir);
  let server: ServeProcess;

  before(async () => {
    const added = await run(['users', 'add', 'alice', '--password-stdin', '--scopes', 'me'], { input: `${PASSWORD}\n` });
    assert.equal(added.code, 0, added.stderr);
    server = await startServe(cliEnv(dataDir));
  });
  after(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function loginStatus(password: string): Promise<{ status: number; detail: unknown; token?: string }> {
    const response = await tokenRequest(server.url, 'alice', password);
    const body = (await response.json()) as { detail?: string; access_token?: string };
    return { status: response.status, detail: body.detail, ...(body.access_token ? { token: body.access_token } : {}) };
  }

  it('lets the user log in before any change', async () => {
    assert.equal((await loginStatus(PASSWORD)).status, 200);
  });

  it('disables the user: login says "Inactive user" and existing tokens stop working', async () => {
    const { token } = await loginStatus(PASSWORD);
    assert.ok(token);
    const result = await run(['users', 'disable', 'alice']);
    assert.equal(result.code, 0, result.stderr);
    const login = await loginStatus(PASSWORD);
    assert.equal(login.status, 401);
    assert.equal(login.detail, 'Inactive user');
    const me = await server.fetch('/users/me', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(me.status, 401);
    const listed = JSON.parse((await run(['users', 'list', '--json'])).stdout) as Array<{ disabled: boolean }>;
    assert.equal(listed[0]!.disabled, true);
  });

  it('enables the user again', async () => {
    const result = await run(['users', 'enable', 'alice']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal((await loginStatus(PASSWORD)).status, 200);
  });

  it('sets a new password from stdin: the old one stops working, the new one works', async () => {
    const result = await run(['users', 'passwd', 'alice', '--password-stdin'], { input: `${NEW_PASSWORD}\n` });
    assert.equal(result.code, 0, result.stderr);
    const old = await loginStatus(PASSWORD);
    assert.equal(old.status, 401);
    assert.equal(old.detail, 'Incorrect username or password');
    assert.equal((await loginStatus(NEW_PASSWORD)).status, 200);
  });

  it('refuses a common password in passwd and keeps the current one', async () => {
    const result = await run(['users', 'passwd', 'alice', '--password-stdin'], { input: 'password1\n' });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /common|guess/i);
    assert.equal((await loginStatus(NEW_PASSWORD)).status, 200);
  });

  it('asks for --password-stdin in passwd when stdin is not a terminal', async () => {
    const result = await run(['users', 'passwd', 'alice'], { input: `${PASSWORD}\n` });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--password-stdin/);
    assert.equal((await loginStatus(NEW_PASSWORD)).status, 200);
  });

  it('creates an account disabled with --disabled', async () => {
    const result = await run(['users', 'add', 'dora', '--password-stdin', '--disabled', '--full-name', 'Dora Explorer'], {
      input: `${PASSWORD}\n`,
    });
    assert.equal(result.code, 0, result.stderr);
    const response = await tokenRequest(server.url, 'dora', PASSWORD);
    assert.equal(response.status, 401);
    assert.equal(((await response.json()) as { detail: string }).detail, 'Inactive user');
    const listed = JSON.parse((await run(['users', 'list', '--json'])).stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(
      listed.map((row) => [row.username, row.full_name, row.disabled]),
      [
        ['alice', null, false],
        ['dora', 'Dora Explorer', true],
      ],
    );
    assert.equal((await run(['users', 'remove', 'dora'])).code, 0);
  });

  it('removes the user', async () => {
    const result = await run(['users', 'remove', 'alice']);
    assert.equal(result.code, 0, result.stderr);
    const login = await loginStatus(NEW_PASSWORD);
    assert.equal(login.status, 401);
    assert.equal(login.detail, 'Incorrect username or password');
    assert.equal((await run(['users', 'list'])).stdout.trim(), 'No users.');
  });

  for (const args of [
    ['users', 'disable', 'nobody'],
    ['users', 'enable', 'nobody'],
    ['users', 'remove', 'nobody'],
    ['users', 'passwd', 'nobody', '--password-stdin'],
  ]) {
    it(`exits 2 with a clear message for a missing user: ${args.slice(1).join(' ')}`, async () => {
      const result = await run(args, { input: `${NEW_PASSWORD}\n` });
      assert.equal(result.code, 2);
      assert.match(result.stderr, /no user named "nobody"/i);
    });
  }

  it('never prints a password', () => {
    assertNoSecretPrinted([...printed, server.output().stdout, server.output().stderr], PASSWORD, NEW_PASSWORD, 'password1');
  });
});
