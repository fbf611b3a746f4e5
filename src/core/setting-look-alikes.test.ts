import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, SETTING_NAMES as KNOWN } from '../server/config.js';
import { describeLookAlike, editDistance, findLookAlikeSettings } from './setting-look-alikes.js';

/** Every variable loadConfig reads, recorded: the table must name each of them. */
function namesReadByLoadConfig(env: Record<string, string>): Set<string> {
  const read = new Set<string>();
  const recording = new Proxy(env, {
    get(target, name, receiver) {
      if (typeof name === 'string') read.add(name);
      return Reflect.get(target, name, receiver) as unknown;
    },
  });
  loadConfig(recording, { secretKeyRequired: false });
  return read;
}

describe('setting look-alikes', () => {
  it('knows the settings loadConfig reads, and nothing it does not', () => {
    for (const name of ['ACCESS_TOKEN_EXPIRE_MINUTES', 'DATABASE_URL', 'SECRET_KEY', 'NODE_ENV', 'METRICS_PORT', 'WORKERS', 'PORT'])
      assert.ok(KNOWN.has(name), name);
    assert.equal(KNOWN.has('ACCESS_TOKEN_EXPIRES_MINUTES'), false);
    assert.deepEqual(namesReadByLoadConfig({ SOMETHING_ELSE: 'x' }), new Set(KNOWN), 'loadConfig reads exactly the names of the table');
  });

  it('finds misspelt settings, with the setting meant', () => {
    const typos = {
      ACCESS_TOKEN_EXPIRES_MINUTES: 'ACCESS_TOKEN_EXPIRE_MINUTES',
      DATABSE_URL: 'DATABASE_URL',
      DATABASE_URI: 'DATABASE_URL',
      SECERT_KEY: 'SECRET_KEY',
      LOGLEVEL: 'LOG_LEVEL',
      WORKER: 'WORKERS',
      TRUSTED_PROXY: 'TRUSTED_PROXIES',
      RATE_LIMIT_IP_PER_MIN: 'RATE_LIMIT_IP_PER_MINUTE',
      SECRET_KEY_FILE: 'SECRET_KEY',
      port: 'PORT',
    };
    assert.deepEqual(
      findLookAlikeSettings(Object.keys(typos), KNOWN),
      Object.entries(typos)
        .map(([name, suggestion]) => ({ name, suggestion }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    );
  });

  it('leaves the settings themselves and unrelated variables alone', () => {
    const unrelated = [
      ...KNOWN,
      'PATH',
      'HOME',
      'CI',
      'USER',
      'SHELL',
      'TERM',
      'LANG',
      'HOSTNAME',
      'TMPDIR',
      'EDITOR',
      'DISPLAY',
      'SHLVL',
      'NODE_OPTIONS',
      'NODE_EXTRA_CA_CERTS',
      'npm_config_port',
      'npm_lifecycle_event',
      'NPM_TOKEN',
      'INIT_CWD',
      'HTTP_PROXY',
      'HTTPS_PROXY',
      'NO_PROXY',
      'http_proxy',
      'SSH_AUTH_SOCK',
      'XDG_RUNTIME_DIR',
      'DBUS_SESSION_BUS_ADDRESS',
      // Kubernetes' service links, for services named kubernetes, redis, postgres, portcullis:
      'KUBERNETES_SERVICE_HOST',
      'KUBERNETES_PORT_443_TCP_ADDR',
      'REDIS_PORT',
      'REDIS_SERVICE_HOST',
      'REDIS_PORT_6379_TCP',
      'POSTGRES_PORT',
      'POSTGRES_PASSWORD',
      'PORTCULLIS_PORT',
      'PORTCULLIS_SERVICE_HOST',
      'PORTCULLIS_RECORD_CODE_CACHE',
      'PGHOST',
      'PGPASSWORD',
      'GITHUB_ACTIONS',
      'GITHUB_TOKEN',
      'RUNNER_TEMP',
      'INVOCATION_ID',
      'JOURNAL_STREAM',
      'NOTIFY_SOCKET',
      'UV_THREADPOOL_SIZE',
      'FORCE_COLOR',
      'NO_COLOR',
      'DEBUG',
      'TEST_POSTGRES_URL',
      'TEST_REDIS_URL',
      'TEST_DATABASE',
      'AWS_REGION',
      'OTEL_SERVICE_NAME',
      'SENTRY_DSN',
      'HOST_IP',
      'POD_NAME',
      'DATABASE_HOST',
      'REDIS_PASSWORD',
    ];
    assert.deepEqual(findLookAlikeSettings(unrelated, KNOWN), []);
  });

  it('names the variable and the setting in its warning, never a value', () => {
    assert.equal(
      describeLookAlike({ name: 'ACCESS_TOKEN_EXPIRES_MINUTES', suggestion: 'ACCESS_TOKEN_EXPIRE_MINUTES' }),
      'ACCESS_TOKEN_EXPIRES_MINUTES is set, but it is not a Portcullis setting and is ignored; did you mean ACCESS_TOKEN_EXPIRE_MINUTES?',
    );
  });

  it('counts insertions, deletions, substitutions and swaps of neighbours as one edit each', () => {
    assert.equal(editDistance('PORT', 'PORT'), 0);
    assert.equal(editDistance('PORT', 'PORTS'), 1);
    assert.equal(editDistance('PORT', 'PRT'), 1);
    assert.equal(editDistance('PORT', 'FORT'), 1);
    assert.equal(editDistance('PORT', 'PROT'), 1);
    assert.equal(editDistance('', 'ABC'), 3);
    assert.equal(editDistance('ACCESS_TOKEN_EXPIRE_MINUTES', 'ACCESS_TOKEN_EXPIRES_MINUTES'), 1);
  });

  it('gives the exact distance within its limit, and a number above the limit past it', () => {
    assert.equal(editDistance('SECERT_KEY', 'SECRET_KEY', 2), 1);
    assert.equal(editDistance('DATABSE_URI', 'DATABASE_URL', 2), 2);
    assert.equal(editDistance('PYTHONUNBUFFERED', 'TRUSTED_PROXIES', 3) > 3, true);
    assert.equal(editDistance('PYTHONUNBUFFERED', 'TRUSTED_PROXIES'), editDistance('PYTHONUNBUFFERED', 'TRUSTED_PROXIES', 100));
    // Each pair of a few names, within limits 0 to 4: the same verdict as the full distance.
    const names = ['PORT', 'PROT', 'PORTS', 'SECRET_KEY', 'SECERT_KEY', 'SCRET_KEY', 'WORKERS', 'WORKER', 'LOGLEVEL', 'LOG_LEVEL', ''];
    for (const a of names)
      for (const b of names)
        for (let limit = 0; limit <= 4; limit += 1) {
          const full = editDistance(a, b);
          const limited = editDistance(a, b, limit);
          if (full <= limit) assert.equal(limited, full, `${a} ${b} ${limit}`);
          else assert.ok(limited > limit, `${a} ${b} ${limit}`);
        }
  });
});
