/**
 * Configuration: parsed and validated once, at start, from an environment-like
 * record. Every mistake is reported (all of them, one line each) in a single
 * ConfigError; the result is frozen. Only the CLI reads process.env.
 */
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { isAsymmetricAlgorithm, isHmacAlgorithm, type AccessTokenAlgorithm } from './tokens/algorithms.js';
import { parseScopeList } from './tokens/scopes.js';

export type Registration = 'open' | 'closed';

export interface Argon2Parameters {
  readonly memoryKiB: number;
  readonly iterations: number;
  readonly parallelism: number;
}

export type DatabaseLocation =
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly pool: PostgresPoolSettings };

/** How Portcullis uses a PostgreSQL server: bounded, and failing fast when it is away. */
export interface PostgresPoolSettings {
  /** Connections per process. */
  readonly max: number;
  /** Longest wait for a connection (a new one, or a free one from the pool) before the request gets 503. */
  readonly connectTimeoutMs: number;
  /** Longest a statement may run; the server cancels it after that. */
  readonly statementTimeoutMs: number;
  /** An idle connection is closed after this long. */
  readonly idleTimeoutMs: number;
}

export interface Config {
  readonly production: boolean;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly database: DatabaseLocation;
  /** HMAC key as given (its UTF-8 bytes sign tokens, as the guide's jwt.encode does). Never log. */
  readonly secretKey: string;
  readonly algorithm: AccessTokenAlgorithm;
  readonly accessTokenTtlSeconds: number;
  readonly issuer: string;
  readonly audience: string | undefined;
  readonly clockToleranceSeconds: number;
  readonly registration: Registration;
  readonly defaultScopes: readonly string[];
  readonly passwordMinLength: number;
  readonly argon2: Argon2Parameters;
  readonly hashConcurrency: number;
  readonly hashQueueLimit: number;
  /** The nice value of the hashing threads (0-19; Linux): above 0 the event loop goes first. */
  readonly hashThreadNice: number;
  readonly logLevel: LogLevel;
  readonly shutdownTimeoutMs: number;
  readonly sessionIdleSeconds: number;
  readonly sessionMaxSeconds: number;
  readonly refreshReuseGraceSeconds: number;
  readonly authCacheTtlSeconds: number;
  readonly authCacheMaxEntries: number;
  /** Asymmetric keys: rotate automatically after this many days (0: only by `portcullis keys rotate`). */
  readonly keyRotationDays: number;
  /** Cache-Control max-age of the JWKS; a new key is published at least this long before it signs. */
  readonly jwksMaxAgeSeconds: number;
  /** Abuse resistance (rate limits, login backoff, admission control, request limits). */
  readonly abuse: AbuseSettings;
  /** Redis for state shared by instances (rate limits, login backoff); undefined = in-process. */
  readonly redisUrl: string | undefined;
  /** Prepended to every Redis key, so several deployments can share one Redis. */
  readonly redisKeyPrefix: string;
  /** Longest wait for one Redis command before the caller falls back to in-process state. */
  readonly redisCommandTimeoutMs: number;
  /**
   * SQLite's commit durability: 'full' (default) syncs every commit to disk, so an answered write survives
   * a power cut; 'normal' (WAL) survives a crash of the process but may lose the last commits on a power
   * cut or OS crash, for several times the write rate. A loosening: logged at start.
   */
  readonly sqliteSynchronous: 'full' | 'normal';
  /** SQLITE_GROUP_COMMIT=on (default): overlapping SQLite transactions share one synced COMMIT, each answered after it. */
  readonly sqliteGroupCommit: boolean;
  /** `serve`: processes sharing the port (node:cluster); 1 = a single process, no cluster. */
  readonly workers: number;
  /** Serve the interactive API docs (/docs) and the OpenAPI document (/openapi.json). */
  readonly docs: boolean;
  /** GET /metrics in the Prometheus text format. */
  readonly metrics: MetricsSettings;
}

export interface MetricsSettings {
  /** METRICS=on (the default) serves /metrics. */
  readonly enabled: boolean;
  /** When set, /metrics needs `Authorization: Bearer <token>`. Never log. */
  readonly token: string | undefined;
  /** When set, /metrics is served on this port (0: any free one), on HOST, and not on PORT. */
  readonly port: number | undefined;
}

/** What `bearerToken` accepts (RFC 6750 token68), and long enough not to be guessed. */
const METRICS_TOKEN_PATTERN = /^[A-Za-z0-9\-._~+/]{16,}=*$/;

export interface TokenBucketSettings {
  /** Tokens added per minute. */
  readonly perMinute: number;
  /** Bucket size: how many requests may come at once. */
  readonly burst: number;
}

export interface LoginChallengeSettings {
  /** PBKDF2-SHA256 iterations a solve takes at most at the lowest difficulty (on average 3/4 of it). */
  readonly work: number;
  /** How often the work may double as an attack on the account, pair or source goes on. */
  readonly maxDoublings: number;
}

export interface AbuseSettings {
  /** false turns every rate limit and the login backoff off (a loosening: logged at start). */
  readonly rateLimitsEnabled: boolean;
  /** Per client IP, on /token, /users, /revoke, /introspect and the password routes. */
  readonly ipLimit: TokenBucketSettings;
  /** Per account (the username asked for), on the password grant and password routes. */
  readonly accountLimit: TokenBucketSettings;
  /** X-Forwarded-For is believed only from these proxies: addresses or CIDRs; empty = none. */
  readonly trustedProxies: readonly string[];
  /** Failed logins of an account from one source before the backoff starts. */
  readonly backoffFreeFailures: number;
  readonly backoffBaseSeconds: number;
  readonly backoffMaxSeconds: number;
  /** Spraying: distinct accounts one source may fail on per hour before it is throttled. */
  readonly sprayAccountsPerHour: number;
  /** The proof-of-work challenge that lets a refused login through to the password check (login-challenge.ts). */
  readonly challenge: LoginChallengeSettings;
  /** The longest a password hash may wait for the hashing pool before the request gets 503. */
  readonly hashMaxWaitMs: number;
  /** Browser origins allowed by CORS; empty = CORS off. */
  readonly corsOrigins: readonly string[];
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxHeaderBytes: number;
  /** Mark the device cookie Secure (HTTPS only); default: in production. */
  readonly secureCookies: boolean;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** OWASP Password Storage Cheat Sheet: m=19 MiB, t=2, p=1, the default. */
export const OWASP_ARGON2: Argon2Parameters = Object.freeze({ memoryKiB: 19_456, iterations: 2, parallelism: 1 });
/**
 * OWASP's equivalent argon2id settings (memory KiB, iterations). A setting is
 * accepted when it has at least the memory and at least the iterations of one row.
 */
export const OWASP_ARGON2_FLOORS: ReadonlyArray<readonly [memoryKiB: number, iterations: number]> = Object.freeze([
  [47_104, 1],
  [19_456, 2],
  [12_288, 3],
  [9_216, 4],
  [7_168, 5],
] as const);
/** Keys published in tutorials (the FastAPI docs' example); refused like short ones. */
const PUBLISHED_SECRET_KEYS = new Set(['09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7']);
export const MIN_SECRET_KEY_BYTES = 32;
const DAY_SECONDS = 86_400;
export const MAX_PASSWORD_LENGTH = 1024;

export class ConfigError extends TypeError {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface LoadConfigOptions {
  /** Supplies a key when SECRET_KEY is unset outside production (the CLI keeps one in the data folder). */
  readonly fallbackSecretKey?: (dataDir: string) => string;
  /** false for commands that sign nothing (user management, migrate): an unset key is then no error. */
  readonly secretKeyRequired?: boolean;
}

/**
 * loadConfig, and the names of the environment variables it read to make it: the settings
 * Portcullis knows, taken from the one place that reads them, so a setting added to loadConfig
 * is known here at once (the look-alike warning, setting-look-alikes.ts, compares against them).
 * Read every setting whatever the others say: a name read only under a condition is unknown
 * whenever the condition does not hold.
 */
export function loadConfigReadingNames(env: Env, options: LoadConfigOptions = {}): { readonly config: Config; readonly settingNames: ReadonlySet<string> } {
  const settingNames = new Set<string>();
  const reading = new Proxy(env, {
    get(target, name, receiver) {
      if (typeof name === 'string') settingNames.add(name);
      return Reflect.get(target, name, receiver) as unknown;
    },
  });
  return { config: loadConfig(reading, options), settingNames };
}

export function loadConfig(env: Env, options: LoadConfigOptions = {}): Config {
  const problems: string[] = [];
  const read = new EnvReader(env, problems);

  const production = env.NODE_ENV === 'production';
  const host = read.string('HOST', '127.0.0.1');
  const port = read.integer('PORT', 8000, 0, 65_535);
  const dataDir = read.string('DATA_DIR', './data');
  const pool: PostgresPoolSettings = {
    max: read.integer('DATABASE_POOL_MAX', 10, 1, 1000),
    connectTimeoutMs: read.integer('DATABASE_CONNECT_TIMEOUT_MS', 2000, 100, 60_000),
    statementTimeoutMs: read.integer('DATABASE_STATEMENT_TIMEOUT_MS', 5000, 100, 600_000),
    idleTimeoutMs: read.integer('DATABASE_IDLE_TIMEOUT_MS', 30_000, 1000, 3_600_000),
  };
  const database = parseDatabaseUrl(read.string('DATABASE_URL', `sqlite:${dataDir}/portcullis.db`), pool, problems);

  const algorithmName = read.string('ALGORITHM', 'HS256');
  let algorithm: AccessTokenAlgorithm = 'HS256';
  if (isHmacAlgorithm(algorithmName) || isAsymmetricAlgorithm(algorithmName)) algorithm = algorithmName;
  else {
    problems.push(
      `ALGORITHM must be one of HS256, HS384, HS512, EdDSA, ES256, RS256, PS256 (got ${JSON.stringify(algorithmName)})`,
    );
  }

  const secretKey = resolveSecretKey(env, production, dataDir, options, problems);

  const accessTokenTtlSeconds = read.integer('ACCESS_TOKEN_EXPIRE_MINUTES', 30, 1, 24 * 60) * 60;
  const issuer = read.string('ISSUER', `http://${host.includes(':') ? `[${host}]` : host}:${port}`);
  const audience = env.AUDIENCE === undefined || env.AUDIENCE === '' ? undefined : env.AUDIENCE;
  const clockToleranceSeconds = read.integer('CLOCK_TOLERANCE_SECONDS', 5, 0, 300);

  const registration = read.choice('REGISTRATION', ['open', 'closed'] as const, production ? 'closed' : 'open');
  let defaultScopes: readonly string[] = [];
  try {
    defaultScopes = parseScopeList(read.string('DEFAULT_SCOPES', ''));
  } catch (error) {
    problems.push(`DEFAULT_SCOPES: ${(error as Error).message}`);
  }
  const passwordMinLength = read.integer('PASSWORD_MIN_LENGTH', 8, 8, 128);

  const argon2 = {
    memoryKiB: read.integer('ARGON2_MEMORY_KIB', OWASP_ARGON2.memoryKiB, 7_168, 4_194_304),
    iterations: read.integer('ARGON2_ITERATIONS', OWASP_ARGON2.iterations, 1, 64),
    parallelism: read.integer('ARGON2_PARALLELISM', OWASP_ARGON2.parallelism, 1, 16),
  };
  if (!OWASP_ARGON2_FLOORS.some(([memoryKiB, iterations]) => argon2.memoryKiB >= memoryKiB && argon2.iterations >= iterations)) {
    problems.push(
      `ARGON2_MEMORY_KIB and ARGON2_ITERATIONS are below OWASP's minimum (got ${argon2.memoryKiB} KiB x ${argon2.iterations}; use at least one of ${OWASP_ARGON2_FLOORS.map(([m, t]) => `${m} KiB x ${t}`).join(', ')})`,
    );
  }

  const hashQueueLimit = read.integer('HASH_QUEUE_LIMIT', 128, 0, 100_000);
  const hashThreadNice = read.integer('HASH_THREAD_NICE', 10, 0, 19);
  const workers = read.integer('WORKERS', availableParallelism(), 1, 256);
  // The cores are shared by the workers: by default each hashes cores ÷ workers at a time, so together they use every core and no more.
  const hashConcurrency = read.integer('HASH_CONCURRENCY', Math.max(1, Math.floor(availableParallelism() / workers)), 1, 256);
  const logLevel = read.choice('LOG_LEVEL', LOG_LEVELS, 'info');
  const shutdownTimeoutMs = read.integer('SHUTDOWN_TIMEOUT_SECONDS', 10, 1, 600) * 1000;
  const sessionIdleSeconds = read.integer('SESSION_IDLE_TIMEOUT_SECONDS', 14 * DAY_SECONDS, 60, 365 * DAY_SECONDS);
  const sessionMaxSeconds = read.integer('SESSION_MAX_LIFETIME_SECONDS', 90 * DAY_SECONDS, 60, 3650 * DAY_SECONDS);
  if (sessionMaxSeconds < sessionIdleSeconds) {
    problems.push('SESSION_MAX_LIFETIME_SECONDS must not be shorter than SESSION_IDLE_TIMEOUT_SECONDS');
  }
  const refreshReuseGraceSeconds = read.integer('REFRESH_REUSE_GRACE_SECONDS', 10, 0, 300);
  const authCacheTtlSeconds = read.integer('AUTH_CACHE_TTL_SECONDS', 60, 0, 3600);
  const authCacheMaxEntries = read.integer('AUTH_CACHE_MAX_ENTRIES', 10_000, 0, 10_000_000);
  const keyRotationDays = read.integer('KEY_ROTATION_DAYS', 0, 0, 3650);
  const jwksMaxAgeSeconds = read.integer('JWKS_MAX_AGE_SECONDS', 300, 0, 86_400);
  const abuse: AbuseSettings = {
    rateLimitsEnabled: read.choice('RATE_LIMITS', ['on', 'off'] as const, 'on') === 'on',
    ipLimit: {
      perMinute: read.integer('RATE_LIMIT_IP_PER_MINUTE', 60, 1, 1_000_000),
      burst: read.integer('RATE_LIMIT_IP_BURST', 30, 1, 1_000_000),
    },
    accountLimit: {
      perMinute: read.integer('RATE_LIMIT_ACCOUNT_PER_MINUTE', 10, 1, 1_000_000),
      burst: read.integer('RATE_LIMIT_ACCOUNT_BURST', 10, 1, 1_000_000),
    },
    trustedProxies: checkTrustedProxies(read.list('TRUSTED_PROXIES'), problems),
    backoffFreeFailures: read.integer('LOGIN_BACKOFF_FREE_FAILURES', 3, 0, 1000),
    backoffBaseSeconds: read.integer('LOGIN_BACKOFF_BASE_SECONDS', 1, 1, 3600),
    backoffMaxSeconds: read.integer('LOGIN_BACKOFF_MAX_SECONDS', 900, 1, 86_400),
    sprayAccountsPerHour: read.integer('SPRAY_ACCOUNTS_PER_HOUR', 20, 1, 1_000_000),
    challenge: {
      work: read.integer('LOGIN_CHALLENGE_WORK', 8_000_000, 1000, 1_000_000_000),
      maxDoublings: read.integer('LOGIN_CHALLENGE_MAX_DOUBLINGS', 5, 0, 10),
    },
    hashMaxWaitMs: read.integer('HASH_MAX_WAIT_MS', 1000, 10, 60_000),
    corsOrigins: read.list('CORS_ORIGINS'),
    headersTimeoutMs: read.integer('HEADERS_TIMEOUT_SECONDS', 10, 1, 600) * 1000,
    requestTimeoutMs: read.integer('REQUEST_TIMEOUT_SECONDS', 30, 1, 600) * 1000,
    keepAliveTimeoutMs: read.integer('KEEP_ALIVE_TIMEOUT_SECONDS', 5, 1, 600) * 1000,
    maxHeaderBytes: read.integer('MAX_HEADER_BYTES', 16_384, 1024, 1_048_576),
    secureCookies: read.choice('SECURE_COOKIES', ['on', 'off'] as const, production ? 'on' : 'off') === 'on',
  };
  if (abuse.backoffMaxSeconds < abuse.backoffBaseSeconds) {
    problems.push('LOGIN_BACKOFF_MAX_SECONDS must not be smaller than LOGIN_BACKOFF_BASE_SECONDS');
  }
  if (abuse.requestTimeoutMs < abuse.headersTimeoutMs) {
    problems.push('REQUEST_TIMEOUT_SECONDS must not be shorter than HEADERS_TIMEOUT_SECONDS');
  }
  const redisUrl = env.REDIS_URL === undefined || env.REDIS_URL === '' ? undefined : env.REDIS_URL;
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) problems.push('REDIS_URL must start with redis:// or rediss://');
  const redisKeyPrefix = read.string('REDIS_KEY_PREFIX', 'portcullis:');
  const redisCommandTimeoutMs = read.integer('REDIS_COMMAND_TIMEOUT_MS', 200, 10, 10_000);
  const sqliteSynchronous = read.choice('SQLITE_SYNCHRONOUS', ['full', 'normal'] as const, 'full');
  const sqliteGroupCommit = read.choice('SQLITE_GROUP_COMMIT', ['on', 'off'] as const, 'on') === 'on';
  if (!/^[A-Za-z0-9:_.-]{1,64}$/.test(redisKeyPrefix)) problems.push('REDIS_KEY_PREFIX must be 1..64 of A-Z a-z 0-9 : _ . -');
  const metrics: MetricsSettings = {
    enabled: read.choice('METRICS', ['on', 'off'] as const, 'on') === 'on',
    token: env.METRICS_TOKEN === undefined || env.METRICS_TOKEN === '' ? undefined : env.METRICS_TOKEN,
    port: env.METRICS_PORT === undefined || env.METRICS_PORT === '' ? undefined : read.integer('METRICS_PORT', 0, 0, 65_535),
  };
  // The value is never echoed: it is a secret.
  if (metrics.token !== undefined && !METRICS_TOKEN_PATTERN.test(metrics.token)) {
    problems.push('METRICS_TOKEN must be at least 16 characters of A-Z a-z 0-9 - . _ ~ + / (generate one with: openssl rand -hex 32)');
  }
  if (metrics.port !== undefined && metrics.port !== 0 && metrics.port === port) problems.push('METRICS_PORT must differ from PORT');
  const docs = read.choice('DOCS', ['on', 'off'] as const, 'on') === 'on';

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    production,
    host,
    port,
    dataDir,
    database: Object.freeze(database),
    secretKey,
    algorithm,
    accessTokenTtlSeconds,
    issuer,
    audience,
    clockToleranceSeconds,
    registration,
    defaultScopes: Object.freeze([...defaultScopes]),
    passwordMinLength,
    argon2: Object.freeze(argon2),
    hashConcurrency,
    hashQueueLimit,
    hashThreadNice,
    logLevel,
    shutdownTimeoutMs,
    sessionIdleSeconds,
    sessionMaxSeconds,
    refreshReuseGraceSeconds,
    authCacheTtlSeconds,
    authCacheMaxEntries,
    keyRotationDays,
    jwksMaxAgeSeconds,
    abuse: Object.freeze({
      ...abuse,
      ipLimit: Object.freeze(abuse.ipLimit),
      accountLimit: Object.freeze(abuse.accountLimit),
      trustedProxies: Object.freeze(abuse.trustedProxies),
      corsOrigins: Object.freeze(abuse.corsOrigins),
    }),
    redisUrl,
    redisKeyPrefix,
    redisCommandTimeoutMs,
    sqliteSynchronous,
    sqliteGroupCommit,
    workers,
    docs,
    metrics: Object.freeze(metrics),
  });
}

function resolveSecretKey(
  env: Env,
  production: boolean,
  dataDir: string,
  options: LoadConfigOptions,
  problems: string[],
): string {
  const given = env.SECRET_KEY;
  if (given !== undefined && given !== '') {
    checkSecretKeyLength(given, 'SECRET_KEY', problems);
    return given;
  }
  if (options.secretKeyRequired === false) return '';
  if (production) {
    problems.push('SECRET_KEY must be set when NODE_ENV=production (generate one with: openssl rand -hex 32)');
    return '';
  }
  if (!options.fallbackSecretKey) {
    problems.push('SECRET_KEY is not set');
    return '';
  }
  try {
    const fallback = options.fallbackSecretKey(dataDir);
    checkSecretKeyLength(fallback, 'The fallback secret key (SECRET_KEY is not set)', problems);
    return fallback;
  } catch (error) {
    problems.push(`SECRET_KEY is not set and the key file could not be used: ${(error as Error).message}`);
    return '';
  }
}

function checkSecretKeyLength(key: string, name: string, problems: string[]): void {
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes < MIN_SECRET_KEY_BYTES) {
    problems.push(
      `${name} is ${bytes} bytes; at least ${MIN_SECRET_KEY_BYTES} are required (generate one with: openssl rand -hex 32)`,
    );
  } else if (PUBLISHED_SECRET_KEYS.has(key.trim())) {
    problems.push(`${name} is the example key published in the FastAPI docs; generate your own with: openssl rand -hex 32`);
  }
}

/** proxy-addr's named ranges, which Fastify's trustProxy also takes. */
const NAMED_PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** Addresses and CIDR ranges only, checked here with every other mistake rather than by Fastify at listen time. */
function checkTrustedProxies(entries: string[], problems: string[]): string[] {
  for (const entry of entries) {
    if (NAMED_PROXY_RANGES.has(entry)) continue;
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    const maxPrefix = family === 6 ? 128 : 32;
    const validPrefix = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= maxPrefix);
    if (family === 0 || extra !== undefined || !validPrefix) {
      problems.push(`TRUSTED_PROXIES: ${JSON.stringify(entry)} is not an IP address or CIDR range (e.g. 10.0.0.5, 10.0.0.0/8, loopback)`);
    } else if (prefix !== undefined && Number(prefix) === 0) {
      problems.push(`TRUSTED_PROXIES: ${entry} trusts every address, so any client could name its own IP in X-Forwarded-For; list your proxies' addresses`);
    }
  }
  return entries;
}

export function parseDatabaseUrl(url: string, pool: PostgresPoolSettings, problems: string[]): DatabaseLocation {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') problems.push('DATABASE_URL sqlite: needs a file path, e.g. sqlite:./data/portcullis.db');
    return { kind: 'sqlite', path };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    if (!URL.canParse(url)) problems.push('DATABASE_URL is not a valid postgres:// URL (percent-encode special characters in the password)');
    return { kind: 'postgres', url, pool };
  }
  // Only the scheme is echoed: the rest may hold a password.
  problems.push(`DATABASE_URL must be sqlite:PATH or postgres://USER@HOST:PORT/DATABASE (got a value starting ${JSON.stringify(url.split(':')[0]?.slice(0, 12))}:)`);
  return { kind: 'sqlite', path: '' };
}

class EnvReader {
  constructor(
    private readonly env: Env,
    private readonly problems: string[],
  ) {}

  string(name: string, fallback: string): string {
    const value = this.env[name];
    return value === undefined || value === '' ? fallback : value;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!/^\d+$/.test(raw.trim())) {
      this.problems.push(`${name} must be a whole number (got ${JSON.stringify(raw)})`);
      return fallback;
    }
    const value = Number(raw.trim());
    if (value < min || value > max) {
      this.problems.push(`${name} must be between ${min} and ${max} (got ${value})`);
      return fallback;
    }
    return value;
  }

  /** A comma- or space-separated list; empty when unset. */
  list(name: string): string[] {
    const raw = this.env[name];
    if (raw === undefined) return [];
    return raw.split(/[\s,]+/).filter((item) => item !== '');
  }

  choice<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    this.problems.push(`${name} must be one of ${allowed.join(', ')} (got ${JSON.stringify(raw)})`);
    return fallback;
  }
}
