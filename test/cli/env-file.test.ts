/**
 * `.env` for local runs: every command reads `.env` in its working directory (or the file of
 * `--dotenv PATH`), and a variable already in the environment wins over the file.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliEnv, makeDataDir, runCli, startServe, tokenRequest } from '../helpers/cli.js';

const PASSWORD = 'Tr0ubadour-and-horse-staple';
const SECRET_KEY = 'env-file-secret-0123456789abcdef0123456789abcdef';

describe('.env for local runs', () => {
  const dataDir = makeDataDir();
  const cwd = mkdtempSync(join(tmpdir(), 'portcullis-env-file-'));
  after(() => {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(cwd, { recursive: true, force: true });
  });

  it('serve takes settings from .env in its working directory; the environment wins over it; no value is printed', async () => {
    writeFileSync(join(cwd, '.env'), `# a local run\nACCESS_TOKEN_EXPIRE_MINUTES=7\nREGISTRATION=closed\nSECRET_KEY="${SECRET_KEY}"\n`);
    const server = await startServe(cliEnv(dataDir, { REGISTRATION: 'open' }), undefined, [], cwd);
    try {
      // REGISTRATION=closed in the file, open in the environment: the environment's.
      const signUp = await server.fetch('/users', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: PASSWORD }),
      });
      assert.equal(signUp.status, 201, await signUp.text());
      // ACCESS_TOKEN_EXPIRE_MINUTES only in the file: taken.
      const login = await tokenRequest(server.url, 'alice', PASSWORD);
      assert.equal(login.status, 200);
      assert.equal(((await login.json()) as { expires_in: number }).expires_in, 7 * 60);
    } finally {
      await server.stop();
    }
    const { stdout, stderr } = server.output();
    assert.ok(!`${stdout}${stderr}`.includes(SECRET_KEY), 'the secret key from .env was printed');
  });

  it('--dotenv PATH before the command reads that file instead (a user command here)', async () => {
    const file = join(cwd, 'other.env');
    writeFileSync(file, 'DEFAULT_SCOPES=me,items\n');
    const added = await runCli(['--dotenv', file, 'users', 'add', 'bob', '--password-stdin'], {
      env: cliEnv(dataDir),
      input: `${PASSWORD}\n`,
      cwd,
    });
    assert.equal(added.code, 0, added.stderr);
    const shown = await runCli(['users', 'show', 'bob', '--json'], { env: cliEnv(dataDir), cwd });
    assert.deepEqual((JSON.parse(shown.stdout) as { scopes: string[] }).scopes, ['me', 'items']);
  });

  it('a missing --dotenv file is named, exit 2; a missing .env is no error', async () => {
    const missing = await runCli(['--dotenv=nowhere.env', 'users', 'list'], { env: cliEnv(dataDir), cwd });
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr, 'portcullis: cannot read the env file nowhere.env: no such file (ENOENT)\n');
    const empty = mkdtempSync(join(tmpdir(), 'portcullis-no-env-'));
    try {
      const listed = await runCli(['users', 'list'], { env: cliEnv(dataDir), cwd: empty });
      assert.equal(listed.code, 0, listed.stderr);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
