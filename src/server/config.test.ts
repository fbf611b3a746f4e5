import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig, OWASP_ARGON2, type Env, type LoadConfigOptions, type PortcullisConfig } from './config.js';

const KEY = 'k'.repeat(32);
const FALLBACK_KEY = 'f'.repeat(64);

function load(env: Env, options?: LoadConfigOptions): PortcullisConfig {
  return loadConfig({ SECRET_KEY: KEY, ...env }, options);
}

/** Asserts that loadConfig throws one ConfigError and returns its problems. */
function problemsOf(env: Env, options?: LoadConfigOptions): readonly string[] {
  let problems: readonly string[] = [];
  assert.throws(
    () => loadConfig(env, options),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.ok(error instanceof TypeError);
      problems = error.problems;
      for (const problem of problems) assert.ok(error.message.includes(problem));
      return true;
    },
  );
  return problems;
}

function assertOneProblem(env: Env, pattern: RegExp, options?: LoadConfigOptions): void {
  const problems = problemsOf(env, options);
  assert.equal(problems.length, 1, problems.join('\n'));
  assert.match(problems[0] ?? '', pattern);
}

describe('loadConfig', () => {
  describe('defaults', () => {
    it('listens on 127.0.0.1:8000 and signs HS256 tokens for 30 minutes', () => {
      const config = load({});
      assert.equal(config.host, '127.0.0.1');
      assert.equal(config.port, 8000);
      assert.equal(config.algorithm, 'HS256');
      assert.equal(config.accessTokenTtlSeconds, 1800);
      assert.equal(config.clockToleranceSeconds, 5);
    });

    it('uses http://HOST:PORT as the issuer and no audience', () => {
      assert.equal(load({}).issuer, 'http://127.0.0.1:8000');
      assert.equal(load({ HOST: '0.0.0.0', PORT: '9000' }).issuer, 'http://0.0.0.0:9000');
      assert.equal(load({ HOST: '::1' }).issuer, 'http://[::1]:8000');
      assert.equal(load({}).audience, undefined);
      assert.equal(load({ AUDIENCE: '' }).audience, undefined);
    });

    it('uses an explicit ISSUER and AUDIENCE', () => {
      const config = load({ ISSUER: 'https://auth.example', AUDIENCE: 'https://api.example' });
      assert.equal(config.issuer, 'https://auth.example');
      assert.equal(config.audience, 'https://api.example');
    });

    it('stores users in sqlite:./data/portcullis.db', () => {
      const config = load({});
      assert.equal(config.dataDir, './data');
      assert.deepEqual(config.database, { kind: 'sqlite', path: './data/portcullis.db' });
    });

    it('puts the default database in DATA_DIR', () => {
      assert.deepEqual(load({ DATA_DIR: '/var/lib/portcullis' }).database, {
        kind: 'sqlite',
        path: '/var/lib/portcullis/portcullis.db',
      });
    });

    it('opens registration outside production and closes it in production', () => {
      assert.equal(load({}).registration, 'open');
      assert.equal(load({ NODE_ENV: 'development' }).registration, 'open');
      assert.equal(load({ NODE_ENV: 'production' }).registration, 'closed');
      assert.equal(load({ NODE_ENV: 'production', REGISTRATION: 'open' }).registration, 'open');
      assert.equal(load({ REGISTRATION: 'closed' }).registration, 'closed');
    });

    it('hashes at the OWASP argon2id parameters with a minimum password length of 8', () => {
      const config = load({});
      assert.deepEqual(config.argon2, { memoryKiB: 19_456, iterations: 2, parallelism: 1 });
      assert.equal(config.passwordMinLength, 8);
      assert.equal(config.hashQueueLimit, 128);
      assert.ok(config.hashConcurrency >= 1);
    });

    it('shares the cores between workers: each hashes cores ÷ workers at a time by default', () => {
      const cores = availableParallelism();
      assert.equal(load({ WORKERS: '1' }).hashConcurrency, cores);
      assert.equal(load({ WORKERS: '2' }).hashConcurrency, Math.max(1, Math.floor(cores / 2)));
      assert.equal(load({ WORKERS: String(cores * 4) }).hashConcurrency, 1);
      assert.equal(load({ WORKERS: '4', HASH_CONCURRENCY: '3' }).hashConcurrency, 3);
    });

    it('gives no default scopes and logs at info', () => {
      const config = load({});
      assert.deepEqual(config.defaultScopes, []);
      assert.equal(config.logLevel, 'info');
      assert.equal(config.production, false);
    });
  });

  describe('values', () => {
    it('makes the WebAuthn relying party of PUBLIC_URL, or of WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS, and refuses origins outside it', () => {
      const byIssuer = load({ ISSUER: 'https://auth.example.com' });
      assert.deepEqual(byIssuer.webauthn.relyingParty, {
        id: 'auth.example.com',
        name: 'Portcullis',
        origins: ['https://auth.example.com'],
      });
      assert.equal(byIssuer.webauthn.passkeyLogin, false);
      const byPublicUrl = load({ ISSUER: 'https://auth.example.com', PUBLIC_URL: 'http://localhost:3000/', PRODUCT_NAME: 'Acme' });
      assert.deepEqual(byPublicUrl.webauthn.relyingParty, { id: 'localhost', name: 'Acme', origins: ['http://localhost:3000'] });
      assert.equal(byPublicUrl.publicUrl, 'http://localhost:3000');
      assert.equal(byPublicUrl.mail.publicUrl, 'http://localhost:3000', 'the links in messages go there too');
      const shared = load({
        PUBLIC_URL: 'https://id.example.com',
        WEBAUTHN_RP_ID: 'example.com',
        WEBAUTHN_ORIGINS: 'https://id.example.com, https://app.example.com',
        PASSKEY_LOGIN: 'on',
      });
      assert.deepEqual(shared.webauthn.relyingParty.origins, ['https://id.example.com', 'https://app.example.com']);
      assert.equal(shared.webauthn.passkeyLogin, true);
      assert.throws(
        () => load({ PUBLIC_URL: 'https://id.example.com', WEBAUTHN_ORIGINS: 'https://evil.example.net' }),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.problems.some((p) => p.startsWith('WebAuthn: https://evil.example.net is not on id.example.com')),
      );
      assert.throws(
        () => load({ WEBAUTHN_ORIGINS: 'https://app.example.com/login' }),
        (error: unknown) => error instanceof ConfigError && error.problems.some((p) => p.includes('is not an origin')),
      );
    });

    it('reads numbers, the algorithm and scopes', () => {
      const config = load({
        PORT: '0',
        ALGORITHM: 'HS512',
        ACCESS_TOKEN_EXPIRE_MINUTES: '15',
        CLOCK_TOLERANCE_SECONDS: '0',
        DEFAULT_SCOPES: 'me, items',
        PASSWORD_MIN_LENGTH: '12',
        ARGON2_MEMORY_KIB: '65536',
        ARGON2_ITERATIONS: '3',
        ARGON2_PARALLELISM: '4',
        HASH_CONCURRENCY: '2',
        HASH_QUEUE_LIMIT: '0',
        LOG_LEVEL: 'silent',
        SHUTDOWN_TIMEOUT_SECONDS: '3',
      });
      assert.equal(config.port, 0);
      assert.equal(config.algorithm, 'HS512');
      assert.equal(config.accessTokenTtlSeconds, 900);
      assert.equal(config.clockToleranceSeconds, 0);
      assert.deepEqual(config.defaultScopes, ['me', 'items']);
      assert.equal(config.passwordMinLength, 12);
      assert.deepEqual(config.argon2, { memoryKiB: 65_536, iterations: 3, parallelism: 4 });
      assert.equal(config.hashConcurrency, 2);
      assert.equal(config.hashQueueLimit, 0);
      assert.equal(config.logLevel, 'silent');
      assert.equal(config.shutdownTimeoutMs, 3000);
    });

    it('treats an empty variable as unset', () => {
      const config = load({ PORT: '', HOST: '', ALGORITHM: '', REGISTRATION: '' });
      assert.equal(config.port, 8000);
      assert.equal(config.host, '127.0.0.1');
      assert.equal(config.algorithm, 'HS256');
      assert.equal(config.registration, 'open');
    });

    it('reads sqlite: paths, including sqlite:///absolute', () => {
      assert.deepEqual(load({ DATABASE_URL: 'sqlite:/tmp/p.db' }).database, { kind: 'sqlite', path: '/tmp/p.db' });
      assert.deepEqual(load({ DATABASE_URL: 'sqlite:///tmp/p.db' }).database, { kind: 'sqlite', path: '/tmp/p.db' });
      assert.deepEqual(load({ DATABASE_URL: 'postgres://app@db.internal:5432/auth', DATABASE_POOL_MAX: '20' }).database, {
        kind: 'postgres',
        url: 'postgres://app@db.internal:5432/auth',
        pool: { max: 20, connectTimeoutMs: 2000, statementTimeoutMs: 5000, idleTimeoutMs: 30_000 },
      });
    });
  });

  describe('SECRET_KEY', () => {
    it('accepts a key of 32 bytes and refuses one of 31', () => {
      assert.equal(load({ SECRET_KEY: 'x'.repeat(32) }).secretKey, 'x'.repeat(32));
      assertOneProblem({ SECRET_KEY: 'x'.repeat(31) }, /SECRET_KEY is 31 bytes; at least 32/);
    });

    it("refuses the guide's placeholder 'your-secret-key'", () => {
      assertOneProblem({ SECRET_KEY: 'your-secret-key' }, /SECRET_KEY is 15 bytes/);
    });

    it('counts UTF-8 bytes, not characters', () => {
      assert.equal(load({ SECRET_KEY: 'é'.repeat(16) }).secretKey, 'é'.repeat(16));
      assertOneProblem({ SECRET_KEY: 'é'.repeat(15) }, /30 bytes/);
    });

    it('never puts the key itself in a problem', () => {
      const problems = problemsOf({ SECRET_KEY: 'hunter2-secret' });
      assert.ok(problems.every((problem) => !problem.includes('hunter2-secret')));
    });

    it('requires SECRET_KEY in production, even with a fallback', () => {
      const fallbackSecretKey = () => FALLBACK_KEY;
      assertOneProblem({ NODE_ENV: 'production' }, /SECRET_KEY must be set when NODE_ENV=production/, {
        fallbackSecretKey,
      });
      assertOneProblem({ NODE_ENV: 'production', SECRET_KEY: '' }, /NODE_ENV=production/, { fallbackSecretKey });
      assert.equal(loadConfig({ NODE_ENV: 'production', SECRET_KEY: KEY }).secretKey, KEY);
    });

    it('uses fallbackSecretKey only when SECRET_KEY is unset outside production', () => {
      const calls: string[] = [];
      const fallbackSecretKey = (dataDir: string) => {
        calls.push(dataDir);
        return FALLBACK_KEY;
      };
      assert.equal(loadConfig({ SECRET_KEY: KEY }, { fallbackSecretKey }).secretKey, KEY);
      assert.deepEqual(calls, []);
      assert.equal(loadConfig({ DATA_DIR: '/srv/p' }, { fallbackSecretKey }).secretKey, FALLBACK_KEY);
      assert.deepEqual(calls, ['/srv/p']);
    });

    it('reports a fallback that fails', () => {
      assertOneProblem({}, /key file could not be used: disk on fire/, {
        fallbackSecretKey: () => {
          throw new Error('disk on fire');
        },
      });
    });

    it('refuses a fallback key shorter than 32 bytes', () => {
      assertOneProblem({}, /fallback secret key .* is 5 bytes; at least 32/, { fallbackSecretKey: () => 'short' });
    });

    it('refuses an unset SECRET_KEY without a fallback', () => {
      assertOneProblem({}, /SECRET_KEY is not set/);
    });

    it('allows an unset key when no key is required, even in production', () => {
      assert.equal(loadConfig({ NODE_ENV: 'production' }, { secretKeyRequired: false }).secretKey, '');
      assertOneProblem({ SECRET_KEY: 'short' }, /SECRET_KEY is 5 bytes/, { secretKeyRequired: false });
    });
  });

  describe('ALGORITHM', () => {
    for (const algorithm of ['RS384', 'none', 'hs256', 'ES512', 'HS1024', 'eddsa']) {
      it(`refuses ${algorithm} and lists the allowed algorithms`, () => {
        assertOneProblem(
          { SECRET_KEY: KEY, ALGORITHM: algorithm },
          new RegExp(`ALGORITHM must be one of HS256, HS384, HS512, EdDSA, ES256, RS256, PS256 \\(got "${algorithm}"\\)`),
        );
      });
    }

    it('accepts EdDSA, ES256, RS256 and PS256', () => {
      for (const algorithm of ['EdDSA', 'ES256', 'RS256', 'PS256']) assert.equal(load({ ALGORITHM: algorithm }).algorithm, algorithm);
    });

    it('accepts HS256, HS384 and HS512', () => {
      for (const algorithm of ['HS256', 'HS384', 'HS512']) assert.equal(load({ ALGORITHM: algorithm }).algorithm, algorithm);
    });
  });

  describe('integers', () => {
    for (const value of ['abc', '8000.5', '-1', '1e3', '0x1F', '80 80', ' ']) {
      it(`refuses PORT=${JSON.stringify(value)}`, () => {
        assertOneProblem({ SECRET_KEY: KEY, PORT: value }, /PORT must be a whole number/);
      });
    }

    it('refuses values out of range', () => {
      assertOneProblem({ SECRET_KEY: KEY, PORT: '65536' }, /PORT must be between 0 and 65535 \(got 65536\)/);
      assertOneProblem({ SECRET_KEY: KEY, ACCESS_TOKEN_EXPIRE_MINUTES: '0' }, /ACCESS_TOKEN_EXPIRE_MINUTES must be between 1 and 1440/);
      assertOneProblem({ SECRET_KEY: KEY, ACCESS_TOKEN_EXPIRE_MINUTES: '1441' }, /between 1 and 1440/);
      assertOneProblem({ SECRET_KEY: KEY, PASSWORD_MIN_LENGTH: '7' }, /PASSWORD_MIN_LENGTH must be between 8 and 128/);
      assertOneProblem({ SECRET_KEY: KEY, HASH_CONCURRENCY: '0' }, /HASH_CONCURRENCY must be between 1 and 256/);
      assertOneProblem({ SECRET_KEY: KEY, HASH_THREAD_NICE: '20' }, /HASH_THREAD_NICE must be between 0 and 19/);
    });

    it('accepts surrounding whitespace', () => {
      assert.equal(load({ PORT: ' 8080 ' }).port, 8080);
    });
  });

  describe('Argon2 parameters', () => {
    it("refuses settings weaker than every row of OWASP's table", () => {
      assertOneProblem({ SECRET_KEY: KEY, ARGON2_ITERATIONS: '1' }, /ARGON2_MEMORY_KIB and ARGON2_ITERATIONS are below OWASP's minimum/);
      assertOneProblem({ SECRET_KEY: KEY, ARGON2_MEMORY_KIB: '7168' }, /below OWASP's minimum/);
      assertOneProblem({ SECRET_KEY: KEY, ARGON2_MEMORY_KIB: '38912', ARGON2_ITERATIONS: '1' }, /below OWASP's minimum/);
    });

    it("accepts each of OWASP's equivalent settings", () => {
      for (const [m, t] of [
        ['47104', '1'],
        ['19456', '2'],
        ['12288', '3'],
        ['9216', '4'],
        ['7168', '5'],
      ] as const) {
        assert.equal(load({ ARGON2_MEMORY_KIB: m, ARGON2_ITERATIONS: t }).argon2.memoryKiB, Number(m));
      }
    });

    it('refuses the example key published in the FastAPI docs', () => {
      assertOneProblem({ SECRET_KEY: '09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7' }, /example key published/);
    });

    it('refuses memory below 7168 KiB whatever the iterations', () => {
      assertOneProblem({ SECRET_KEY: KEY, ARGON2_MEMORY_KIB: '4096', ARGON2_ITERATIONS: '20' }, /ARGON2_MEMORY_KIB must be between 7168/);
    });

    it("accepts OWASP's 46 MiB with one iteration and stronger settings", () => {
      assert.deepEqual(load({ ARGON2_MEMORY_KIB: '47104', ARGON2_ITERATIONS: '1' }).argon2, {
        memoryKiB: 47_104,
        iterations: 1,
        parallelism: 1,
      });
      assert.equal(load({ ARGON2_MEMORY_KIB: '19456', ARGON2_ITERATIONS: '2' }).argon2.memoryKiB, OWASP_ARGON2.memoryKiB);
    });
  });

  describe('other values', () => {
    it('refuses an unknown REGISTRATION or LOG_LEVEL', () => {
      assertOneProblem({ SECRET_KEY: KEY, REGISTRATION: 'invite' }, /REGISTRATION must be one of open, closed/);
      assertOneProblem({ SECRET_KEY: KEY, LOG_LEVEL: 'verbose' }, /LOG_LEVEL must be one of/);
    });

    it('refuses a bad scope in DEFAULT_SCOPES', () => {
      assertOneProblem({ SECRET_KEY: KEY, DEFAULT_SCOPES: 'me "admin"' }, /DEFAULT_SCOPES: invalid scope/);
    });

    it('refuses postgres (not supported yet), an empty sqlite path and other URLs', () => {
      assertOneProblem({ SECRET_KEY: KEY, DATABASE_URL: 'postgres://u:p@db:notaport/portcullis' }, /not a valid postgres:\/\/ URL/);
      assertOneProblem({ SECRET_KEY: KEY, DATABASE_URL: 'postgres://db/p', DATABASE_POOL_MAX: '0' }, /DATABASE_POOL_MAX/);
      assertOneProblem({ SECRET_KEY: KEY, DATABASE_URL: 'sqlite:' }, /needs a file path/);
      assertOneProblem({ SECRET_KEY: KEY, TRUSTED_PROXIES: '10.0.0.1 nginx' }, /TRUSTED_PROXIES: "nginx" is not an IP address/);
      assertOneProblem({ SECRET_KEY: KEY, TRUSTED_PROXIES: '10.0.0.0/33' }, /not an IP address or CIDR/);
      assertOneProblem({ SECRET_KEY: KEY, TRUSTED_PROXIES: '0.0.0.0/0' }, /trusts every address/);
      assertOneProblem({ SECRET_KEY: KEY, SQLITE_SYNCHRONOUS: 'off' }, /SQLITE_SYNCHRONOUS must be one of full, normal/);
      assert.equal(load({}).sqliteSynchronous, 'full');
      assertOneProblem({ SECRET_KEY: KEY, SQLITE_GROUP_COMMIT: 'yes' }, /SQLITE_GROUP_COMMIT must be one of on, off/);
      assert.equal(load({}).sqliteGroupCommit, true);
      assert.equal(load({ SQLITE_GROUP_COMMIT: 'off' }).sqliteGroupCommit, false);
      assert.deepEqual(load({ TRUSTED_PROXIES: '10.0.0.0/8, 192.0.2.7 ::1 fd00::/8 loopback' }).trustedProxies, [
        '10.0.0.0/8',
        '192.0.2.7',
        '::1',
        'fd00::/8',
        'loopback',
      ]);
      assertOneProblem({ SECRET_KEY: KEY, DATABASE_URL: 'mysql://root:hunter2@db/p' }, /DATABASE_URL must be sqlite:PATH or postgres:/);
      assert.doesNotMatch(problemsOf({ SECRET_KEY: KEY, DATABASE_URL: 'mysql://root:hunter2@db/p' }).join('\n'), /hunter2/);
    });
  });

  describe('rules across settings', () => {
    it('refuses a session lifetime shorter than its idle timeout', () => {
      assertOneProblem(
        { SECRET_KEY: KEY, SESSION_IDLE_TIMEOUT_SECONDS: '3600', SESSION_MAX_LIFETIME_SECONDS: '3599' },
        /^SESSION_MAX_LIFETIME_SECONDS must not be shorter than SESSION_IDLE_TIMEOUT_SECONDS$/,
      );
      assert.equal(load({ SESSION_IDLE_TIMEOUT_SECONDS: '3600', SESSION_MAX_LIFETIME_SECONDS: '3600' }).sessionMaxSeconds, 3600);
    });

    it('refuses a login backoff cap below its first wait', () => {
      assertOneProblem(
        { SECRET_KEY: KEY, LOGIN_BACKOFF_BASE_SECONDS: '60', LOGIN_BACKOFF_MAX_SECONDS: '59' },
        /^LOGIN_BACKOFF_MAX_SECONDS must not be smaller than LOGIN_BACKOFF_BASE_SECONDS$/,
      );
      assert.equal(load({ LOGIN_BACKOFF_BASE_SECONDS: '60', LOGIN_BACKOFF_MAX_SECONDS: '60' }).abuse.backoffMaxSeconds, 60);
    });

    it('refuses a request timeout shorter than the headers timeout', () => {
      assertOneProblem(
        { SECRET_KEY: KEY, HEADERS_TIMEOUT_SECONDS: '40' },
        /^REQUEST_TIMEOUT_SECONDS must not be shorter than HEADERS_TIMEOUT_SECONDS$/,
      );
      assert.equal(load({ HEADERS_TIMEOUT_SECONDS: '40', REQUEST_TIMEOUT_SECONDS: '40' }).requestTimeoutMs, 40_000);
    });

    it('refuses METRICS_PORT equal to PORT, except 0', () => {
      assertOneProblem({ SECRET_KEY: KEY, PORT: '9000', METRICS_PORT: '9000' }, /^METRICS_PORT must differ from PORT$/);
      assert.equal(load({ PORT: '0', METRICS_PORT: '0' }).metrics.port, 0);
      assert.equal(load({ METRICS_PORT: '' }).metrics.port, undefined);
    });
  });

  it('reports every mistake at once in one ConfigError, one problem each', () => {
    const problems = problemsOf({
      NODE_ENV: 'production',
      ALGORITHM: 'RS384',
      PORT: 'eighty',
      ACCESS_TOKEN_EXPIRE_MINUTES: '0',
      ARGON2_ITERATIONS: '1',
      REGISTRATION: 'maybe',
    });
    assert.equal(problems.length, 6, problems.join('\n'));
    for (const pattern of [
      /^ALGORITHM/,
      /^SECRET_KEY must be set/,
      /^PORT/,
      /^ACCESS_TOKEN_EXPIRE_MINUTES/,
      /^ARGON2_MEMORY_KIB and ARGON2_ITERATIONS are below/,
      /^REGISTRATION/,
    ]) {
      assert.ok(
        problems.some((problem) => pattern.test(problem)),
        `${pattern} in\n${problems.join('\n')}`,
      );
    }
  });

  it('returns a frozen config with frozen nested values', () => {
    const config = load({ DEFAULT_SCOPES: 'me' });
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.argon2));
    assert.ok(Object.isFrozen(config.defaultScopes));
    assert.ok(Object.isFrozen(config.database));
    assert.throws(() => {
      (config as { port: number }).port = 1;
    }, TypeError);
  });

  it('reads only the environment it is given', () => {
    const before = process.env.PORT;
    process.env.PORT = '1234';
    try {
      assert.equal(load({}).port, 8000);
    } finally {
      if (before === undefined) delete process.env.PORT;
      else process.env.PORT = before;
    }
  });
});
