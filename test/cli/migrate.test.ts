import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cliEnv, makeDataDir, runCli } from '../helpers/cli.js';

describe('portcullis migrate', () => {
  const dataDir = makeDataDir();
  const database = join(dataDir, 'portcullis.db');
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('creates the database in DATA_DIR', async () => {
    assert.equal(existsSync(database), false);
    const result = await runCli(['migrate'], { env: cliEnv(dataDir) });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Applied \d+ migration\(s\)/);
    assert.equal(existsSync(database), true);
  });

  it('says the database is up to date on a second run', async () => {
    const result = await runCli(['migrate'], { env: cliEnv(dataDir) });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /up to date/);
  });

  it('uses DATABASE_URL when it is set, and creates no key file', async () => {
    const other = join(dataDir, 'nested', 'other.db');
    const result = await runCli(['migrate'], { env: cliEnv(dataDir, { DATABASE_URL: `sqlite:${other}` }) });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(existsSync(other), true);
    assert.equal(existsSync(join(dataDir, 'secret.key')), false);
  });

  it('exits 2 for a DATABASE_URL it cannot use', async () => {
    const result = await runCli(['migrate'], { env: cliEnv(dataDir, { DATABASE_URL: 'mysql://db/portcullis' }) });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /DATABASE_URL/);
  });
});
