import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { cliEnv, makeDataDir, runCli } from '../helpers/cli.js';

describe('configuration errors', () => {
  const dataDir = makeDataDir();
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('refuses PORT=abc with exit 2, naming PORT', async () => {
    const result = await runCli(['serve'], { env: cliEnv(dataDir, { PORT: 'abc' }) });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /PORT must be a whole number/);
    assert.equal(result.stdout, '');
  });

  it('lists every bad setting at once', async () => {
    const short = 'short-key-1234';
    const result = await runCli(['serve'], {
      env: cliEnv(dataDir, {
        PORT: '99999',
        ALGORITHM: 'none',
        LOG_LEVEL: 'loud',
        ACCESS_TOKEN_EXPIRE_MINUTES: 'soon',
        REGISTRATION: 'maybe',
        DATABASE_URL: 'mysql://db/x',
        SECRET_KEY: short,
      }),
    });
    assert.equal(result.code, 2);
    for (const name of ['PORT', 'ALGORITHM', 'LOG_LEVEL', 'ACCESS_TOKEN_EXPIRE_MINUTES', 'REGISTRATION', 'DATABASE_URL', 'SECRET_KEY']) {
      assert.match(result.stderr, new RegExp(`^\\s+- ${name}\\b`, 'm'), name);
    }
    assert.ok(!result.stderr.includes(short), 'the secret key was printed');
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  });

  it('checks the configuration for user commands too', async () => {
    const result = await runCli(['users', 'list'], { env: cliEnv(dataDir, { DATABASE_URL: 'sqlite:' }) });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /DATABASE_URL/);
  });

  it('lets user commands run without SECRET_KEY in production, since they sign nothing', async () => {
    const result = await runCli(['users', 'list'], { env: cliEnv(dataDir, { NODE_ENV: 'production' }) });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /No users/);
  });
});
