/**
 * Configuration: parsed and validated once, at start, from an environment-like
 * record, through the table of settings (settings.ts). Every mistake is reported
 * (all of them, one line each) in a single ConfigError; the result is frozen.
 * Only the CLI reads process.env.
 */
import type { AccessTokenAlgorithm } from './tokens/algorithms.js';
import { readSettings, type Env, type LogLevel } from './settings.js';
import { mailConfig, type MailConfig } from './outbox/mail-settings.js';

export { LOG_LEVELS, OWASP_ARGON2, OWASP_ARGON2_FLOORS, type Env, type LogLevel } from './settings.js';

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
  /** The mail channel: transport, templates, the relay's timing (ADR 0022). */
  readonly mail: MailConfig;
}

export interface MetricsSettings {
  /** METRICS=on (the default) serves /metrics. */
  readonly enabled: boolean;
  /** When set, /metrics needs `Authorization: Bearer <token>`. Never log. */
  readonly token: string | undefined;
  /** When set, /metrics is served on this port (0: any free one), on HOST, and not on PORT. */
  readonly port: number | undefined;
}

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

/** Keys published in tutorials (the FastAPI docs' example); refused like short ones. */
const PUBLISHED_SECRET_KEYS = new Set(['09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7']);
export const MIN_SECRET_KEY_BYTES = 32;
export const MAX_PASSWORD_LENGTH = 1024;

export class ConfigError extends TypeError {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** Supplies a key when SECRET_KEY is unset outside production (the CLI keeps one in the data folder). */
  readonly fallbackSecretKey?: (dataDir: string) => string;
  /** false for commands that sign nothing (user management, migrate): an unset key is then no error. */
  readonly secretKeyRequired?: boolean;
}

export function loadConfig(env: Env, options: LoadConfigOptions = {}): Config {
  const problems: string[] = [];
  const settings = readSettings(env, problems);
  const production = settings.NODE_ENV === 'production';
  const pool: PostgresPoolSettings = {
    max: settings.DATABASE_POOL_MAX,
    connectTimeoutMs: settings.DATABASE_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: settings.DATABASE_STATEMENT_TIMEOUT_MS,
    idleTimeoutMs: settings.DATABASE_IDLE_TIMEOUT_MS,
  };
  const database = parseDatabaseUrl(settings.DATABASE_URL, pool, problems);
  const secretKey = resolveSecretKey(settings.SECRET_KEY, production, settings.DATA_DIR, options, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  const abuse: AbuseSettings = {
    rateLimitsEnabled: settings.RATE_LIMITS,
    ipLimit: Object.freeze({ perMinute: settings.RATE_LIMIT_IP_PER_MINUTE, burst: settings.RATE_LIMIT_IP_BURST }),
    accountLimit: Object.freeze({ perMinute: settings.RATE_LIMIT_ACCOUNT_PER_MINUTE, burst: settings.RATE_LIMIT_ACCOUNT_BURST }),
    trustedProxies: Object.freeze([...settings.TRUSTED_PROXIES]),
    backoffFreeFailures: settings.LOGIN_BACKOFF_FREE_FAILURES,
    backoffBaseSeconds: settings.LOGIN_BACKOFF_BASE_SECONDS,
    backoffMaxSeconds: settings.LOGIN_BACKOFF_MAX_SECONDS,
    sprayAccountsPerHour: settings.SPRAY_ACCOUNTS_PER_HOUR,
    challenge: { work: settings.LOGIN_CHALLENGE_WORK, maxDoublings: settings.LOGIN_CHALLENGE_MAX_DOUBLINGS },
    hashMaxWaitMs: settings.HASH_MAX_WAIT_MS,
    corsOrigins: Object.freeze([...settings.CORS_ORIGINS]),
    headersTimeoutMs: settings.HEADERS_TIMEOUT_SECONDS * 1000,
    requestTimeoutMs: settings.REQUEST_TIMEOUT_SECONDS * 1000,
    keepAliveTimeoutMs: settings.KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
    maxHeaderBytes: settings.MAX_HEADER_BYTES,
    secureCookies: settings.SECURE_COOKIES,
  };
  return Object.freeze({
    production,
    host: settings.HOST,
    port: settings.PORT,
    dataDir: settings.DATA_DIR,
    database: Object.freeze(database),
    secretKey,
    algorithm: settings.ALGORITHM,
    accessTokenTtlSeconds: settings.ACCESS_TOKEN_EXPIRE_MINUTES * 60,
    issuer: settings.ISSUER,
    audience: settings.AUDIENCE,
    clockToleranceSeconds: settings.CLOCK_TOLERANCE_SECONDS,
    registration: settings.REGISTRATION,
    defaultScopes: Object.freeze([...settings.DEFAULT_SCOPES]),
    passwordMinLength: settings.PASSWORD_MIN_LENGTH,
    argon2: Object.freeze({
      memoryKiB: settings.ARGON2_MEMORY_KIB,
      iterations: settings.ARGON2_ITERATIONS,
      parallelism: settings.ARGON2_PARALLELISM,
    }),
    hashConcurrency: settings.HASH_CONCURRENCY,
    hashQueueLimit: settings.HASH_QUEUE_LIMIT,
    hashThreadNice: settings.HASH_THREAD_NICE,
    logLevel: settings.LOG_LEVEL,
    shutdownTimeoutMs: settings.SHUTDOWN_TIMEOUT_SECONDS * 1000,
    sessionIdleSeconds: settings.SESSION_IDLE_TIMEOUT_SECONDS,
    sessionMaxSeconds: settings.SESSION_MAX_LIFETIME_SECONDS,
    refreshReuseGraceSeconds: settings.REFRESH_REUSE_GRACE_SECONDS,
    authCacheTtlSeconds: settings.AUTH_CACHE_TTL_SECONDS,
    authCacheMaxEntries: settings.AUTH_CACHE_MAX_ENTRIES,
    keyRotationDays: settings.KEY_ROTATION_DAYS,
    jwksMaxAgeSeconds: settings.JWKS_MAX_AGE_SECONDS,
    abuse: Object.freeze(abuse),
    redisUrl: settings.REDIS_URL,
    redisKeyPrefix: settings.REDIS_KEY_PREFIX,
    redisCommandTimeoutMs: settings.REDIS_COMMAND_TIMEOUT_MS,
    sqliteSynchronous: settings.SQLITE_SYNCHRONOUS,
    sqliteGroupCommit: settings.SQLITE_GROUP_COMMIT,
    workers: settings.WORKERS,
    docs: settings.DOCS,
    metrics: Object.freeze({ enabled: settings.METRICS, token: settings.METRICS_TOKEN, port: settings.METRICS_PORT }),
    mail: mailConfig(settings, settings.ISSUER),
  });
}

function resolveSecretKey(
  given: string | undefined,
  production: boolean,
  dataDir: string,
  options: LoadConfigOptions,
  problems: string[],
): string {
  if (given !== undefined) {
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
    problems.push(`${name} is ${bytes} bytes; at least ${MIN_SECRET_KEY_BYTES} are required (generate one with: openssl rand -hex 32)`);
  } else if (PUBLISHED_SECRET_KEYS.has(key.trim())) {
    problems.push(`${name} is the example key published in the FastAPI docs; generate your own with: openssl rand -hex 32`);
  }
}

export function parseDatabaseUrl(url: string, pool: PostgresPoolSettings, problems: string[]): DatabaseLocation {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') problems.push('DATABASE_URL sqlite: needs a file path, e.g. sqlite:./data/portcullis.db');
    return { kind: 'sqlite', path };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    if (!URL.canParse(url))
      problems.push('DATABASE_URL is not a valid postgres:// URL (percent-encode special characters in the password)');
    return { kind: 'postgres', url, pool };
  }
  // Only the scheme is echoed: the rest may hold a password.
  problems.push(
    `DATABASE_URL must be sqlite:PATH or postgres://USER@HOST:PORT/DATABASE (got a value starting ${JSON.stringify(url.split(':')[0]?.slice(0, 12))}:)`,
  );
  return { kind: 'sqlite', path: '' };
}
