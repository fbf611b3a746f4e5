/**
 * Every setting Portcullis reads from the environment, declared once: name, what it accepts
 * (type and bounds), default, a one-line doc, and the layer that uses it. Then the rules
 * that span several settings. loadConfig (config.ts) reads the environment through this
 * table and nothing else; the look-alike warning (setting-look-alikes.ts) knows the names
 * from it; docs/configuration.md's reference is generated from it (`npm run docs:config`).
 * Order matters only for defaults: one may depend on a setting declared before it
 * (DefaultContext).
 */
import { availableParallelism } from 'node:os';
import { isIP } from 'node:net';
import { ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS } from './tokens/algorithms.js';
import { parseScopeList } from './tokens/scopes.js';
import { MAIL_RULES, MAIL_SETTINGS } from './outbox/mail-settings.js';
import {
  choice,
  integer,
  INVALID,
  list,
  onOff,
  optionalInteger,
  optionalText,
  parsed,
  text,
  type DefaultContext,
  type Setting,
} from './setting-types.js';

export type Env = Readonly<Record<string, string | undefined>>;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** OWASP Password Storage Cheat Sheet: m=19 MiB, t=2, p=1, the default. */
export const OWASP_ARGON2 = Object.freeze({ memoryKiB: 19_456, iterations: 2, parallelism: 1 });
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

const DAY_SECONDS = 86_400;

/** What `bearerToken` accepts (RFC 6750 token68), and long enough not to be guessed. */
const METRICS_TOKEN_PATTERN = /^[A-Za-z0-9\-._~+/]{16,}=*$/;

/** proxy-addr's named ranges, which Fastify's trustProxy also takes. */
const NAMED_PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** Addresses and CIDR ranges only, checked here with every other mistake rather than by Fastify at listen time. */
function checkTrustedProxy(entry: string, name: string): string | undefined {
  if (NAMED_PROXY_RANGES.has(entry)) return undefined;
  const [address = '', prefix, extra] = entry.split('/');
  const family = isIP(address);
  const maxPrefix = family === 6 ? 128 : 32;
  const validPrefix = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= maxPrefix);
  if (family === 0 || extra !== undefined || !validPrefix) {
    return `${name}: ${JSON.stringify(entry)} is not an IP address or CIDR range (e.g. 10.0.0.5, 10.0.0.0/8, loopback)`;
  }
  if (prefix !== undefined && Number(prefix) === 0) {
    return `${name}: ${entry} trusts every address, so any client could name its own IP in X-Forwarded-For; list your proxies' addresses`;
  }
  return undefined;
}

function defaultIssuer({ HOST, PORT }: DefaultContext): string {
  return `http://${HOST.includes(':') ? `[${HOST}]` : HOST}:${PORT}`;
}

export const SETTINGS = {
  NODE_ENV: optionalText({
    layer: 'core',
    doc: '`production` requires `SECRET_KEY`, sends HSTS, and makes `REGISTRATION` default to `closed` and `SECURE_COOKIES` to `on`',
  }),

  // Where it listens, and how.
  HOST: text({ layer: 'server', default: '127.0.0.1', doc: 'the address to listen on' }),
  PORT: integer({ layer: 'server', default: 8000, min: 0, max: 65_535, doc: 'the port to listen on (`0`: any free port)' }),
  WORKERS: integer({
    layer: 'server',
    default: ({ cores }) => cores,
    defaultDoc: 'number of cores',
    min: 1,
    max: 256,
    doc: '`serve`: processes sharing the port (`--workers N` overrides it); `1` is one process, no cluster. See [All cores](DEPLOYMENT.md#all-cores)',
  }),
  DATA_DIR: text({
    layer: 'cli',
    default: './data',
    accepts: 'path',
    doc: 'folder for the SQLite file and the generated secret key; created (mode 0700) if missing, but not the folders above it',
  }),

  // Storage.
  DATABASE_URL: text({
    layer: 'storage',
    default: ({ DATA_DIR }) => `sqlite:${DATA_DIR}/portcullis.db`,
    defaultDoc: '`sqlite:$DATA_DIR/portcullis.db`',
    accepts: 'URL',
    doc:
      '`sqlite:PATH`, or `postgres://USER:PASSWORD@HOST:PORT/DATABASE` (any libpq-style URL node-postgres accepts, e.g. `?sslmode=verify-full` with `sslrootcert=`); never logged. ' +
      'A SQLite file outside `DATA_DIR` must be in a folder that exists: no other folder is created',
  }),
  SQLITE_GROUP_COMMIT: onOff({
    layer: 'storage',
    default: true,
    doc:
      'SQLite transactions that overlap in time share one synced COMMIT, so one disk sync serves many refreshes and logins; each client is still answered only after its own write is synced ' +
      '(durability as with `off`, one COMMIT per transaction). Reads outside transactions see committed data only',
  }),
  SQLITE_SYNCHRONOUS: choice({
    layer: 'storage',
    values: ['full', 'normal'],
    default: 'full',
    doc:
      'SQLite commit durability: `full` syncs every commit (an answered write survives a power cut); `normal` survives a crash of Portcullis but may lose the last commits on a power cut or OS crash, ' +
      'for several times the write rate (logged at start). See [docs/PERFORMANCE.md](PERFORMANCE.md)',
  }),
  DATABASE_POOL_MAX: integer({
    layer: 'storage',
    default: 10,
    min: 1,
    max: 1000,
    doc: "PostgreSQL: connections per process (× workers × instances must stay under the server's `max_connections`)",
  }),
  DATABASE_CONNECT_TIMEOUT_MS: integer({
    layer: 'storage',
    default: 2000,
    min: 100,
    max: 60_000,
    doc: 'PostgreSQL: longest wait for a connection (a new one, or a free one from the pool) before the request gets 503',
  }),
  DATABASE_STATEMENT_TIMEOUT_MS: integer({
    layer: 'storage',
    default: 5000,
    min: 100,
    max: 600_000,
    doc: 'PostgreSQL: the server cancels a statement after this (the request gets 503)',
  }),
  DATABASE_IDLE_TIMEOUT_MS: integer({
    layer: 'storage',
    default: 30_000,
    min: 1000,
    max: 3_600_000,
    doc: 'PostgreSQL: idle connections are closed after this',
  }),

  // Tokens.
  SECRET_KEY: optionalText({
    layer: 'core',
    secret: true,
    accepts: 'at least 32 bytes',
    defaultDoc: 'generated on first start into `$DATA_DIR/secret.key` (mode 0600) and reused',
    doc:
      'HMAC signing key, and the root of the keys that encrypt private signing keys and refresh-token successors at rest; its UTF-8 bytes are the key, as in the guide. ' +
      'At least 32 bytes (the guide\'s `"your-secret-key"` is refused, and so is the example key from the FastAPI docs). Required when `NODE_ENV=production`. ' +
      'Generate one with `openssl rand -hex 32`. Never logged.',
  }),
  ALGORITHM: choice({
    layer: 'core',
    values: [...HMAC_ALGORITHMS, ...ASYMMETRIC_ALGORITHMS],
    default: 'HS256',
    doc: "the access tokens' signature: the HS algorithms sign with `SECRET_KEY`, the others with key pairs kept in the database (see [Signing keys](http-api.md#signing-keys-jwks-and-rotation))",
  }),
  ACCESS_TOKEN_EXPIRE_MINUTES: integer({ layer: 'core', default: 30, min: 1, max: 24 * 60, doc: 'access-token lifetime' }),
  ISSUER: text({
    layer: 'core',
    default: defaultIssuer,
    defaultDoc: '`http://HOST:PORT`',
    accepts: 'URL',
    doc: 'the `iss` claim; set it to your public URL',
  }),
  AUDIENCE: optionalText({ layer: 'core', doc: 'the `aud` claim, required on verification when set' }),
  CLOCK_TOLERANCE_SECONDS: integer({ layer: 'core', default: 5, min: 0, max: 300, doc: 'leeway for `exp`/`nbf`' }),

  // Accounts and passwords.
  REGISTRATION: choice({
    layer: 'core',
    values: ['open', 'closed'],
    default: ({ production }) => (production ? 'closed' : 'open'),
    defaultDoc: '`open`, but `closed` when `NODE_ENV=production`',
    doc: 'whether `POST /users` is open to anyone',
  }),
  DEFAULT_SCOPES: parsed<readonly string[]>({
    layer: 'core',
    default: [],
    defaultDoc: 'empty',
    accepts: 'comma- or space-separated scopes',
    parse: parseScopeList,
    doc: 'scopes given to users created by sign-up or `users add` without `--scopes`',
  }),
  PASSWORD_MIN_LENGTH: integer({
    layer: 'core',
    default: 8,
    min: 8,
    max: 128,
    doc: 'minimum password length in characters; 15 is recommended where the password is the only factor (NIST SP 800-63B-4)',
  }),
  ARGON2_MEMORY_KIB: integer({
    layer: 'core',
    default: OWASP_ARGON2.memoryKiB,
    min: 7_168,
    max: 4_194_304,
    doc:
      "argon2id memory cost (OWASP's parameters). With `ARGON2_ITERATIONS`, a setting weaker than every one of OWASP's equivalents " +
      `(${OWASP_ARGON2_FLOORS.map(([m, t]) => `${m}×${t}`).join(', ')} KiB×iterations) is refused`,
  }),
  ARGON2_ITERATIONS: integer({
    layer: 'core',
    default: OWASP_ARGON2.iterations,
    min: 1,
    max: 64,
    doc: 'argon2id time cost (see `ARGON2_MEMORY_KIB`)',
  }),
  ARGON2_PARALLELISM: integer({ layer: 'core', default: OWASP_ARGON2.parallelism, min: 1, max: 16, doc: 'argon2id lanes' }),
  HASH_CONCURRENCY: integer({
    layer: 'core',
    // The cores are shared by the workers: by default each hashes cores ÷ workers at a time, so together they use every core and no more.
    default: ({ cores, WORKERS }) => Math.max(1, Math.floor(cores / WORKERS)),
    defaultDoc: 'cores ÷ `WORKERS` (at least 1)',
    min: 1,
    max: 256,
    doc: 'hashing threads per process: password hashes computed at once',
  }),
  HASH_THREAD_NICE: integer({
    layer: 'core',
    default: 10,
    min: 0,
    max: 19,
    doc: "the hashing threads' nice value (Linux): above 0 the event loop gets a core first, so token checks stay fast during a login storm; 0 = equal footing",
  }),
  HASH_QUEUE_LIMIT: integer({
    layer: 'core',
    default: 128,
    min: 0,
    max: 100_000,
    doc: 'hashes that may wait; beyond that (or beyond `HASH_MAX_WAIT_MS`), 503 with `Retry-After`',
  }),
  HASH_MAX_WAIT_MS: integer({
    layer: 'core',
    default: 1000,
    min: 10,
    max: 60_000,
    doc: 'longest a password hash may wait for the pool before the login gets 503',
  }),

  // The process.
  LOG_LEVEL: choice({
    layer: 'server',
    values: LOG_LEVELS,
    default: 'info',
    doc: 'at `info`, a JSON line per failed request and a summary of the rest once a minute; at `debug`, a line per request (see [DEPLOYMENT.md](DEPLOYMENT.md#1-production-checklist))',
  }),
  SHUTDOWN_TIMEOUT_SECONDS: integer({ layer: 'server', default: 10, min: 1, max: 600, doc: 'how long a graceful shutdown may take' }),

  // Sessions, caches and keys.
  SESSION_IDLE_TIMEOUT_SECONDS: integer({
    layer: 'core',
    default: 14 * DAY_SECONDS,
    defaultDoc: '`1209600` (14 days)',
    min: 60,
    max: 365 * DAY_SECONDS,
    doc: 'a session ends after this long without a refresh',
  }),
  SESSION_MAX_LIFETIME_SECONDS: integer({
    layer: 'core',
    default: 90 * DAY_SECONDS,
    defaultDoc: '`7776000` (90 days)',
    min: 60,
    max: 3650 * DAY_SECONDS,
    doc: 'a session ends this long after login, whatever the refreshes; not shorter than `SESSION_IDLE_TIMEOUT_SECONDS`',
  }),
  REFRESH_REUSE_GRACE_SECONDS: integer({
    layer: 'core',
    default: 10,
    min: 0,
    max: 300,
    doc: 'how long a just-retired refresh token still gets the current one instead of ending the session (0 = no grace)',
  }),
  AUTH_CACHE_TTL_SECONDS: integer({
    layer: 'core',
    default: 60,
    min: 0,
    max: 3600,
    doc: 'the longest an entry lives in the in-process authentication cache (invalidation is immediate regardless; 0 disables the cache)',
  }),
  AUTH_CACHE_MAX_ENTRIES: integer({
    layer: 'core',
    default: 10_000,
    min: 0,
    max: 10_000_000,
    doc: 'entries per kind (users, sessions, clients) in that cache',
  }),
  JWKS_MAX_AGE_SECONDS: integer({
    layer: 'core',
    default: 300,
    min: 0,
    max: 86_400,
    doc: '`Cache-Control: max-age` of the JWKS and metadata; a new key is published at least this long before it signs',
  }),
  KEY_ROTATION_DAYS: integer({
    layer: 'core',
    default: 0,
    defaultDoc: '`0` (off)',
    min: 0,
    max: 3650,
    doc: 'rotate asymmetric signing keys automatically after this many days (0: only by `portcullis keys rotate`)',
  }),

  // State shared by instances.
  REDIS_URL: optionalText({
    layer: 'storage',
    accepts: 'URL',
    doc: 'share rate limits and login backoff across instances through Redis (`redis://` or `rediss://`)',
    check: (value, name) => (/^rediss?:\/\//.test(value) ? undefined : `${name} must start with redis:// or rediss://`),
  }),
  REDIS_KEY_PREFIX: text({
    layer: 'storage',
    default: 'portcullis:',
    accepts: '1–64 of `A-Z a-z 0-9 : _ . -`',
    doc: 'prepended to every Redis key, so several deployments can share one Redis',
    check: (value, name) => (/^[A-Za-z0-9:_.-]{1,64}$/.test(value) ? undefined : `${name} must be 1..64 of A-Z a-z 0-9 : _ . -`),
  }),
  REDIS_COMMAND_TIMEOUT_MS: integer({
    layer: 'storage',
    default: 200,
    min: 10,
    max: 10_000,
    doc: 'the longest a request waits for Redis before that request is counted in-process instead',
  }),

  // Abuse resistance.
  RATE_LIMITS: onOff({
    layer: 'core',
    default: true,
    doc: '`off` disables the rate limits and the login backoff (logged as a warning at start)',
  }),
  RATE_LIMIT_IP_PER_MINUTE: integer({
    layer: 'core',
    default: 60,
    min: 1,
    max: 1_000_000,
    doc: 'the per-address bucket of the auth routes (`/token`, `/users`, `/revoke`, `/introspect`, the password routes): tokens added per minute',
  }),
  RATE_LIMIT_IP_BURST: integer({
    layer: 'core',
    default: 30,
    min: 1,
    max: 1_000_000,
    doc: 'the per-address bucket: how many requests may come at once',
  }),
  RATE_LIMIT_ACCOUNT_PER_MINUTE: integer({
    layer: 'core',
    default: 10,
    min: 1,
    max: 1_000_000,
    doc: 'the per-account bucket (password grant and password change): tokens added per minute',
  }),
  RATE_LIMIT_ACCOUNT_BURST: integer({
    layer: 'core',
    default: 10,
    min: 1,
    max: 1_000_000,
    doc: 'the per-account bucket: how many requests may come at once',
  }),
  TRUSTED_PROXIES: list({
    layer: 'http',
    accepts: 'addresses, CIDRs, `loopback`, `linklocal`, `uniquelocal`',
    doc: "addresses or CIDRs whose `X-Forwarded-For` is believed (`0.0.0.0/0` is refused: list your proxies' addresses)",
    check: checkTrustedProxy,
  }),
  LOGIN_BACKOFF_FREE_FAILURES: integer({
    layer: 'core',
    default: 3,
    min: 0,
    max: 1000,
    doc: 'failed logins of an (account, source) pair before the backoff starts',
  }),
  LOGIN_BACKOFF_BASE_SECONDS: integer({ layer: 'core', default: 1, min: 1, max: 3600, doc: "the backoff's first wait" }),
  LOGIN_BACKOFF_MAX_SECONDS: integer({
    layer: 'core',
    default: 900,
    min: 1,
    max: 86_400,
    doc: "the backoff's cap; not smaller than `LOGIN_BACKOFF_BASE_SECONDS`",
  }),
  SPRAY_ACCOUNTS_PER_HOUR: integer({
    layer: 'core',
    default: 20,
    min: 1,
    max: 1_000_000,
    doc: 'distinct accounts one source may fail on per hour before it is throttled',
  }),
  LOGIN_CHALLENGE_WORK: integer({
    layer: 'core',
    default: 8_000_000,
    min: 1000,
    max: 1_000_000_000,
    doc: 'PBKDF2-SHA256 iterations a level-0 login challenge takes at most (about 0.8 s of a browser here)',
  }),
  LOGIN_CHALLENGE_MAX_DOUBLINGS: integer({
    layer: 'core',
    default: 5,
    min: 0,
    max: 10,
    doc: "how often the challenge's work may double as an attack goes on (the owner's worst case is one solve at this level)",
  }),

  // HTTP.
  MAX_HEADER_BYTES: integer({ layer: 'http', default: 16_384, min: 1024, max: 1_048_576, doc: 'larger header blocks get 431' }),
  HEADERS_TIMEOUT_SECONDS: integer({
    layer: 'http',
    default: 10,
    min: 1,
    max: 600,
    doc: 'slow-client bound: the longest a client may take to send the headers',
  }),
  REQUEST_TIMEOUT_SECONDS: integer({
    layer: 'http',
    default: 30,
    min: 1,
    max: 600,
    doc: 'slow-client bound: the longest a client may take to send the whole request; not shorter than `HEADERS_TIMEOUT_SECONDS`',
  }),
  KEEP_ALIVE_TIMEOUT_SECONDS: integer({
    layer: 'http',
    default: 5,
    min: 1,
    max: 600,
    doc: 'slow-client bound: an idle kept-alive connection is closed after this',
  }),
  CORS_ORIGINS: list({
    layer: 'http',
    defaultDoc: 'empty (CORS off)',
    accepts: 'comma- or space-separated origins',
    doc: 'browser origins allowed to call the API',
  }),
  DOCS: onOff({
    layer: 'http',
    default: true,
    doc: '`off`: no `/docs` and no `/openapi.json`. See [Interactive API docs](http-api.md#interactive-api-docs)',
  }),
  SECURE_COOKIES: onOff({
    layer: 'http',
    default: ({ production }) => production,
    defaultDoc: '`on` in production, else `off`',
    doc: 'mark the device cookie `Secure` (HTTPS only)',
  }),
  METRICS: onOff({ layer: 'http', default: true, doc: '`off`: no `/metrics`. See [Metrics](DEPLOYMENT.md#metrics)' }),
  METRICS_TOKEN: optionalText({
    layer: 'http',
    secret: true,
    accepts: '16 or more of `A-Z a-z 0-9 - . _ ~ + /`',
    doc: '`/metrics` then needs `Authorization: Bearer <token>` (`openssl rand -hex 32`); never logged',
    // The value is never echoed: it is a secret.
    check: (value, name) =>
      METRICS_TOKEN_PATTERN.test(value)
        ? undefined
        : `${name} must be at least 16 characters of A-Z a-z 0-9 - . _ ~ + / (generate one with: openssl rand -hex 32)`,
  }),
  METRICS_PORT: optionalInteger({
    layer: 'server',
    min: 0,
    max: 65_535,
    doc: 'serve `/metrics` on this port, on `HOST`, and not on `PORT` (`0`: any free port); with workers, the primary serves the sum of all workers there',
  }),

  // Mail (src/core/outbox/mail-settings.ts).
  ...MAIL_SETTINGS,
} as const satisfies Record<string, Setting<unknown>>;

export type SettingName = keyof typeof SETTINGS;
export type SettingValues = { readonly [K in SettingName]: (typeof SETTINGS)[K] extends Setting<infer T> ? T : never };

/** The names of every setting: the variables Portcullis reads. */
export const SETTING_NAMES: ReadonlySet<string> = new Set(Object.keys(SETTINGS));

/** Rules across settings: each returns the problem, or undefined. */
export const CROSS_SETTING_RULES: ReadonlyArray<(values: SettingValues) => string | undefined> = [
  ({ ARGON2_MEMORY_KIB, ARGON2_ITERATIONS }) =>
    OWASP_ARGON2_FLOORS.some(([memoryKiB, iterations]) => ARGON2_MEMORY_KIB >= memoryKiB && ARGON2_ITERATIONS >= iterations)
      ? undefined
      : `ARGON2_MEMORY_KIB and ARGON2_ITERATIONS are below OWASP's minimum (got ${ARGON2_MEMORY_KIB} KiB x ${ARGON2_ITERATIONS}; use at least one of ${OWASP_ARGON2_FLOORS.map(([m, t]) => `${m} KiB x ${t}`).join(', ')})`,
  ({ SESSION_IDLE_TIMEOUT_SECONDS, SESSION_MAX_LIFETIME_SECONDS }) =>
    SESSION_MAX_LIFETIME_SECONDS < SESSION_IDLE_TIMEOUT_SECONDS
      ? 'SESSION_MAX_LIFETIME_SECONDS must not be shorter than SESSION_IDLE_TIMEOUT_SECONDS'
      : undefined,
  ({ LOGIN_BACKOFF_BASE_SECONDS, LOGIN_BACKOFF_MAX_SECONDS }) =>
    LOGIN_BACKOFF_MAX_SECONDS < LOGIN_BACKOFF_BASE_SECONDS
      ? 'LOGIN_BACKOFF_MAX_SECONDS must not be smaller than LOGIN_BACKOFF_BASE_SECONDS'
      : undefined,
  ({ HEADERS_TIMEOUT_SECONDS, REQUEST_TIMEOUT_SECONDS }) =>
    REQUEST_TIMEOUT_SECONDS < HEADERS_TIMEOUT_SECONDS
      ? 'REQUEST_TIMEOUT_SECONDS must not be shorter than HEADERS_TIMEOUT_SECONDS'
      : undefined,
  ({ PORT, METRICS_PORT }) =>
    METRICS_PORT !== undefined && METRICS_PORT !== 0 && METRICS_PORT === PORT ? 'METRICS_PORT must differ from PORT' : undefined,
  ...MAIL_RULES,
];

/**
 * Reads every setting from env through the table, then checks the rules across settings; each
 * mistake is pushed to problems, and the setting takes its default. Reads no other variable.
 */
export function readSettings(env: Env, problems: string[]): SettingValues {
  const values = new Map<string, unknown>();
  const earlier = <T>(name: SettingName): T => {
    if (!values.has(name)) throw new Error(`settings.ts: a default depends on ${name}, which is declared after it`);
    return values.get(name) as T;
  };
  const context: DefaultContext = {
    get production() {
      return earlier<string | undefined>('NODE_ENV') === 'production';
    },
    get cores() {
      return availableParallelism();
    },
    get HOST() {
      return earlier<string>('HOST');
    },
    get PORT() {
      return earlier<number>('PORT');
    },
    get DATA_DIR() {
      return earlier<string>('DATA_DIR');
    },
    get WORKERS() {
      return earlier<number>('WORKERS');
    },
  };
  for (const [name, setting] of Object.entries(SETTINGS) as Array<[SettingName, Setting<unknown>]>) {
    const raw = env[name];
    const given = raw === undefined || raw === '' ? INVALID : setting.parse(raw, name, problems);
    // Unset, empty or wrong: the default (a wrong value is a problem already).
    values.set(name, given === INVALID ? setting.defaultValue(context) : given);
  }
  const settings = Object.fromEntries(values) as SettingValues;
  for (const rule of CROSS_SETTING_RULES) {
    const problem = rule(settings);
    if (problem !== undefined) problems.push(problem);
  }
  return settings;
}
