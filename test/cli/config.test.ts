import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { cliEnv, makeDataDir, runCli, startServe } from '../helpers/cli.js';

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

  it('warns at start about a misspelt setting, naming the setting meant, never the value', async () => {
    const env = cliEnv(dataDir, { ACCESS_TOKEN_EXPIRES_MINUTES: '4242', DATABSE_URL: 'sqlite:/elsewhere-4242.db' });
    const server = await startServe(env);
    let warnings: Array<Record<string, unknown>>;
    try {
      warnings = server.logLines().filter((line) => line.level === 40 && typeof line.variable === 'string');
    } finally {
      await server.stop();
    }
    assert.deepEqual(
      warnings.map(({ variable, suggestion, msg }) => ({ variable, suggestion, msg })),
      [
        {
          variable: 'ACCESS_TOKEN_EXPIRES_MINUTES',
          suggestion: 'ACCESS_TOKEN_EXPIRE_MINUTES',
          msg: 'ACCESS_TOKEN_EXPIRES_MINUTES is set, but it is not a Portcullis setting and is ignored; did you mean ACCESS_TOKEN_EXPIRE_MINUTES?',
        },
        {
          variable: 'DATABSE_URL',
          suggestion: 'DATABASE_URL',
          msg: 'DATABSE_URL is set, but it is not a Portcullis setting and is ignored; did you mean DATABASE_URL?',
        },
      ],
    );
    const { stdout, stderr } = server.output();
    assert.doesNotMatch(stdout + stderr, /4242/);

    // The other commands say it on stderr.
    const listed = await runCli(['users', 'list'], { env });
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(
      listed.stderr,
      'portcullis: warning: ACCESS_TOKEN_EXPIRES_MINUTES is set, but it is not a Portcullis setting and is ignored; did you mean ACCESS_TOKEN_EXPIRE_MINUTES?\n' +
        'portcullis: warning: DATABSE_URL is set, but it is not a Portcullis setting and is ignored; did you mean DATABASE_URL?\n',
    );
  });

  it('says nothing about the settings themselves or unrelated variables', async () => {
    const result = await runCli(['users', 'list'], {
      env: cliEnv(dataDir, { ACCESS_TOKEN_EXPIRE_MINUTES: '45', PORTCULLIS_PORT: 'tcp://10.0.0.1:8000', NODE_NO_WARNINGS: '1' }),
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
  });
});
