import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cliEnv, makeDataDir, REPO_ROOT, runCli } from '../helpers/cli.js';

describe('portcullis --help and usage errors', () => {
  const dataDir = makeDataDir();
  const env = cliEnv(dataDir);
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('prints the commands with --help and exits 0', async () => {
    const result = await runCli(['--help'], { env });
    assert.equal(result.code, 0, result.stderr);
    for (const command of ['serve', 'migrate', 'users', 'clients', 'audit'])
      assert.match(result.stdout, new RegExp(`^\\s+${command}\\b`, 'm'));
    assert.match(result.stdout, /Exit codes: 0 ok, 1 usage error, 2 failure/);
  });

  it('prints the user commands with users --help and exits 0', async () => {
    const result = await runCli(['users', '--help'], { env });
    assert.equal(result.code, 0, result.stderr);
    const commands = ['add', 'list', 'show', 'update', 'disable', 'enable', 'remove', 'passwd', 'sessions', 'revoke-sessions', 'import'];
    for (const command of commands) {
      assert.match(result.stdout, new RegExp(`^\\s+${command}\\b`, 'm'), command);
    }
  });

  it('prints the version with --version', async () => {
    const result = await runCli(['--version'], { env });
    assert.equal(result.code, 0);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(result.stdout.trim(), pkg.version);
  });

  const usageErrors: Array<{ args: string[]; message: RegExp }> = [
    { args: ['frobnicate'], message: /unknown command 'frobnicate'/ },
    { args: ['users', 'frobnicate'], message: /unknown command 'frobnicate'/ },
    { args: ['users', 'add'], message: /missing required argument 'name'/ },
    { args: ['users', 'disable'], message: /missing required argument/ },
    { args: ['users', 'import'], message: /missing required argument 'file'/ },
    { args: ['users', 'list', '--frob'], message: /unknown option '--frob'/ },
    { args: ['users', 'add', 'alice', '--password-stdin', '--scopes'], message: /argument missing/ },
    { args: ['clients', 'frobnicate'], message: /unknown command 'frobnicate'/ },
    { args: ['clients', 'remove'], message: /missing required argument/ },
    { args: ['users', 'show'], message: /missing required argument 'name'/ },
    { args: ['audit', '--outcome', 'maybe'], message: /Allowed choices are success, failure/ },
  ];
  for (const { args, message } of usageErrors) {
    it(`exits 1 with usage for: ${args.join(' ')}`, async () => {
      const result = await runCli(args, { env });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, message);
      assert.match(result.stderr, /--help/);
    });
  }

  it('exits 1 for a scope list that is not valid', async () => {
    const result = await runCli(['users', 'add', 'alice', '--password-stdin', '--scopes', 'me,"bad"'], {
      env,
      input: 'a-good-long-password-1\n',
    });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /--scopes/);
  });
});
