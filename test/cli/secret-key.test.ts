import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliEnv, makeDataDir, runCli, startServe, tokenRequest } from '../helpers/cli.js';

const PASSWORD = 'keep-the-key-safe-42';

describe('the secret key of portcullis serve', () => {
  const root = makeDataDir();
  after(() => rmSync(root, { recursive: true, force: true }));
  let count = 0;
  function freshDir(): string {
    const dir = join(root, `data-${(count += 1)}`);
    mkdirSync(dir);
    return dir;
  }

  it('generates DATA_DIR/secret.key (mode 0600, 32+ bytes) without SECRET_KEY and reuses it after a restart', async () => {
    const dataDir = freshDir();
    const added = await runCli(['users', 'add', 'alice', '--password-stdin'], { env: cliEnv(dataDir), input: `${PASSWORD}\n` });
    assert.equal(added.code, 0, added.stderr);
    assert.equal(existsSync(join(dataDir, 'secret.key')), false, 'user commands need no key');

    const first = await startServe(cliEnv(dataDir));
    let token: string;
    let key: string;
    try {
      const path = join(dataDir, 'secret.key');
      assert.equal(statSync(path).mode & 0o777, 0o600);
      key = readFileSync(path, 'utf8').trim();
      assert.ok(Buffer.byteLength(key) >= 32, `key of ${Buffer.byteLength(key)} bytes`);
      const response = await tokenRequest(first.url, 'alice', PASSWORD);
      assert.equal(response.status, 200);
      token = ((await response.json()) as { access_token: string }).access_token;
    } finally {
      const stopped = await first.stop();
      assert.equal(stopped.code, 0, stopped.stderr);
    }
    assert.ok(!first.output().stdout.includes(key) && !first.output().stderr.includes(key), 'the key was logged');

    const second = await startServe(cliEnv(dataDir));
    try {
      assert.equal(readFileSync(join(dataDir, 'secret.key'), 'utf8').trim(), key);
      const me = await second.fetch('/users/me', { headers: { authorization: `Bearer ${token}` } });
      assert.equal(me.status, 200, await me.clone().text());
      assert.equal(((await me.json()) as { username: string }).username, 'alice');
    } finally {
      await second.stop();
    }
  });

  it('does not write a key file when SECRET_KEY is set', async () => {
    const dataDir = freshDir();
    const server = await startServe(cliEnv(dataDir, { SECRET_KEY: 'an-operator-supplied-key-of-40-bytes-xyz' }));
    await server.stop();
    assert.equal(existsSync(join(dataDir, 'secret.key')), false);
  });

  it('refuses a SECRET_KEY shorter than 32 bytes, without printing it', async () => {
    const dataDir = freshDir();
    const result = await runCli(['serve'], { env: cliEnv(dataDir, { SECRET_KEY: 'your-secret-key', PORT: '0' }) });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /SECRET_KEY/);
    assert.match(result.stderr, /32/);
    assert.ok(!`${result.stdout}${result.stderr}`.includes('your-secret-key'), 'the secret was printed');
  });

  it('requires SECRET_KEY when NODE_ENV=production', async () => {
    const dataDir = freshDir();
    const result = await runCli(['serve'], { env: cliEnv(dataDir, { NODE_ENV: 'production', PORT: '0' }) });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /SECRET_KEY must be set when NODE_ENV=production/);
    assert.equal(existsSync(join(dataDir, 'secret.key')), false, 'no key is generated in production');
  });

  it('refuses a key file that others can read, saying to chmod 600 it', async () => {
    const dataDir = freshDir();
    const path = join(dataDir, 'secret.key');
    const key = 'f'.repeat(64);
    writeFileSync(path, `${key}\n`);
    chmodSync(path, 0o644);
    const result = await runCli(['serve'], { env: cliEnv(dataDir, { PORT: '0' }) });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /chmod 600/);
    assert.ok(!`${result.stdout}${result.stderr}`.includes(key), 'the key was printed');
    assert.equal(statSync(path).mode & 0o777, 0o644, 'the file is left alone');
  });

  it('refuses a key file that holds fewer than 32 bytes', async () => {
    const dataDir = freshDir();
    const path = join(dataDir, 'secret.key');
    writeFileSync(path, 'too-short\n', { mode: 0o600 });
    const result = await runCli(['serve'], { env: cliEnv(dataDir, { PORT: '0' }) });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /fewer than 32 bytes/);
    assert.ok(!result.stderr.includes('too-short'));
  });
});
