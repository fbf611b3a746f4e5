import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
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
    mkdirSync(join(dataDir, 'nested'));
    const other = join(dataDir, 'nested', 'other.db');
    const result = await runCli(['migrate'], { env: cliEnv(dataDir, { DATABASE_URL: `sqlite:${other}` }) });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(existsSync(other), true);
    assert.equal(existsSync(join(dataDir, 'secret.key')), false);
  });

  it('refuses a SQLite DATABASE_URL whose folder does not exist, and creates no folder', async () => {
    const missing = join(dataDir, 'no', 'such', 'dir');
    const result = await runCli(['migrate'], { env: cliEnv(dataDir, { DATABASE_URL: `sqlite:${missing}/x.db` }) });
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr,
      `portcullis: the folder of the SQLite database ${missing}/x.db does not exist (${missing}); create it, or fix the path: Portcullis creates only its data folder (DATA_DIR)\n`,
    );
    assert.equal(existsSync(join(dataDir, 'no')), false);
  });

  it('creates a missing DATA_DIR (mode 0700), but not the folders above it', async () => {
    const fresh = join(dataDir, 'fresh');
    const created = await runCli(['migrate'], { env: cliEnv(fresh) });
    assert.equal(created.code, 0, created.stderr);
    assert.equal(statSync(fresh).mode & 0o777, 0o700);
    assert.equal(existsSync(join(fresh, 'portcullis.db')), true);

    const deep = join(dataDir, 'not', 'there');
    const refused = await runCli(['migrate'], { env: cliEnv(deep) });
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      /^portcullis: the data folder .*not\/there \(DATA_DIR\) cannot be created: .*not does not exist; create it, or fix DATA_DIR\n$/,
    );
    assert.equal(existsSync(join(dataDir, 'not')), false);
  });

  it('exits 2 for a DATABASE_URL it cannot use', async () => {
    const result = await runCli(['migrate'], { env: cliEnv(dataDir, { DATABASE_URL: 'mysql://db/portcullis' }) });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /DATABASE_URL/);
  });
});
