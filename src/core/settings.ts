/**
 * The settings core reads, declared once: name, what it accepts (type and
 * bounds), default and a one-line doc; then the rules that span several of
 * them. Every other layer declares its own the same way (storage/settings.ts,
 * http/settings.ts, server/settings.ts); the server joins the tables into one
 * parse of the environment (server/config.ts), from which config.ts builds
 * core's Config, the look-alike warning knows every name, and
 * docs/configuration.md's reference is generated (`npm run docs:config`).
 * Order matters only for defaults: one may depend on a setting declared
 * before it (DefaultContext: NODE_ENV, HOST, PORT, WORKERS come first) (ADR 0020).
 */
import { MFA_POLICIES } from './factors/mfa-policy.js';
import { ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS } from './tokens/algorithms.js';
import { parseScopeList } from './tokens/scopes.js';
import {
  checkHttpUrl,
  choice,
  integer,
  list,
  onOff,
  optionalText,
  parsed,
  text,
  type DefaultContext,
  type Setting,
} from './setting-types.js';
import type { SettingRule, ValuesOf } from './setting-table.js';

export type { Env } from './setting-table.js';

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

function defaultIssuer({ HOST, PORT }: DefaultContext): string {
  return `http://${HOST.includes(':') ? `[${HOST}]` : HOST}:${PORT}`;
}

export const CORE_SETTINGS = {
  // Tokens.
  SECRET_KEY: optionalText({
    secret: true,
    accepts: 'at least 32 bytes',
    defaultDoc: 'generated on first start into `$DATA_DIR/secret.key` (mode 0600) and reused',
    doc:
      'HMAC signing key, and the root of the keys that encrypt private signing keys and refresh-token successors at rest; its UTF-8 bytes are the key, as in the guide. ' +
      'At least 32 bytes (the guide\'s `"your-secret-key"` is refused, and so is the example key from the FastAPI docs). Required when `NODE_ENV=production`. ' +
      'Generate one with `openssl rand -hex 32`. Never logged.',
  }),
  ALGORITHM: choice({
    values: [...HMAC_ALGORITHMS, ...ASYMMETRIC_ALGORITHMS],
    default: 'HS256',
    doc: "the access tokens' signature: the HS algorithms sign with `SECRET_KEY`, the others with key pairs kept in the database (see [Signing keys](http-api.md#signing-keys-jwks-and-rotation))",
  }),
  ACCESS_TOKEN_EXPIRE_MINUTES: integer({ default: 30, min: 1, max: 24 * 60, doc: 'access-token lifetime' }),
  ISSUER: text({
    default: defaultIssuer,
    defaultDoc: '`http://HOST:PORT`',
    accepts: 'URL',
    doc: 'the `iss` claim; set it to your public URL',
  }),
  AUDIENCE: optionalText({ doc: 'the `aud` claim, required on verification when set' }),
  PUBLIC_URL: optionalText({
    accepts: 'URL',
    defaultDoc: '`ISSUER`',
    doc: 'where users reach Portcullis (or the app in front of it): the base of the links in messages, and the origin passkeys are made for',
    check: checkHttpUrl,
  }),
  PRODUCT_NAME: text({ default: 'Portcullis', doc: 'the name messages sign with, and that authenticators show beside a passkey' }),
  CLOCK_TOLERANCE_SECONDS: integer({ default: 5, min: 0, max: 300, doc: 'leeway for `exp`/`nbf`' }),

  // Accounts and passwords.
  REGISTRATION: choice({
    values: ['open', 'closed'],
    default: ({ production }) => (production ? 'closed' : 'open'),
    defaultDoc: '`open`, but `closed` when `NODE_ENV=production`',
    doc: 'whether `POST /users` is open to anyone',
  }),
  DEFAULT_SCOPES: parsed<readonly string[]>({
    default: [],
    defaultDoc: 'empty',
    accepts: 'comma- or space-separated scopes',
    parse: parseScopeList,
    doc: 'scopes given to users created by sign-up or `users add` without `--scopes`',
  }),
  PASSWORD_MIN_LENGTH: integer({
    default: 8,
    min: 8,
    max: 128,
    doc: 'minimum password length in characters; 15 is recommended where the password is the only factor (NIST SP 800-63B-4)',
  }),
  PASSWORD_RESET_TTL_MINUTES: integer({
    default: 30,
    min: 5,
    max: 1440,
    doc: 'how long a password reset token (`POST /password/forgot`) stays usable, in minutes',
  }),
  PASSWORD_RESET_MAILS_PER_HOUR: integer({
    default: 5,
    min: 1,
    max: 1000,
    doc: 'reset messages one account is sent at most per hour (burst and sustained); requests past it are answered alike and send nothing',
  }),
  EMAIL_VERIFICATION_TTL_HOURS: integer({
    default: 24,
    min: 1,
    max: 720,
    doc: 'how long the link of an e-mail verification mail (sign-up, `PUT /users/me/email`, `POST /email/verify/resend`) stays usable, in hours',
  }),
  EMAIL_VERIFICATION_MAILS_PER_HOUR: integer({
    default: 5,
    min: 1,
    max: 1000,
    doc: 'verification messages `POST /email/verify/resend` sends one account at most per hour (burst and sustained); requests past it are answered alike and send nothing',
  }),
  REQUIRE_VERIFIED_EMAIL: onOff({
    default: false,
    doc:
      'the password grant refuses an account whose e-mail address is not verified, or that has none (`ERR_EMAIL_NOT_VERIFIED`, only once the password was right); ' +
      'with `NODE_ENV=production` it needs a mail channel (`SMTP_URL` or `MAIL_WEBHOOK_URL`)',
  }),
  SIGN_IN_LINKS: onOff({
    default: false,
    doc:
      '`on` lets users sign in with a link mailed to their address (`POST /signin/link`, redeemed at `POST /token` as the ' +
      '`urn:portcullis:params:oauth:grant-type:sign-in-link` grant): also the way past a login throttle that needs no work. ' +
      'Needs a mail channel (`SMTP_URL` or `MAIL_WEBHOOK_URL`)',
  }),
  SIGN_IN_LINK_TTL_MINUTES: integer({
    default: 15,
    min: 1,
    max: 1440,
    doc: 'how long a sign-in link stays usable, in minutes',
  }),
  SIGN_IN_LINK_MAILS_PER_HOUR: integer({
    default: 5,
    min: 1,
    max: 1000,
    doc: 'sign-in links one account is sent at most per hour (burst and sustained); requests past it are answered alike and send nothing',
  }),
  WEBAUTHN_RP_ID: optionalText({
    accepts: 'host name',
    defaultDoc: 'the host of `PUBLIC_URL`',
    doc:
      'the WebAuthn relying party id passkeys and security keys are made for: the host of `PUBLIC_URL` or a registrable suffix of it ' +
      '(`example.com` for `https://id.example.com`, so that pages on other subdomains can use them); changing it orphans every registered one',
    check: (value, name) => (/^[a-z0-9.-]+$/.test(value) && !value.startsWith('.') ? undefined : `${name} must be a lower-case host name`),
  }),
  WEBAUTHN_ORIGINS: list({
    accepts: 'comma-separated origins',
    defaultDoc: 'the origin of `PUBLIC_URL`',
    doc: 'the page origins WebAuthn ceremonies may come from (`https://app.example.com`), each on the host of `WEBAUTHN_RP_ID` or under it',
    check: (item, name) =>
      URL.canParse(item) && new URL(item).origin === item
        ? undefined
        : `${name}: ${JSON.stringify(item)} is not an origin (scheme://host[:port])`,
  }),
  PASSKEY_LOGIN: onOff({
    default: false,
    doc:
      '`on` lets a passkey alone sign in (`POST /signin/passkey`, then the `urn:portcullis:params:oauth:grant-type:passkey` grant): ' +
      'a discoverable credential whose authenticator verified the user (PIN or biometrics). Off, passkeys are second factors only',
  }),
  MFA_POLICY: choice({
    values: MFA_POLICIES,
    default: 'optional',
    doc:
      'who must log in with a second factor: `optional` (each user chooses), `admins` (users holding the `admin` scope), `all`. ' +
      'An administrator can also require it of one user (`mfa_required`); that flag only tightens. Applied at login: a user it covers who has no factor ' +
      'enrols one at login (`POST /mfa/enrol`); sessions opened before keep working until they end ' +
      '(see [MFA policy](http-api.md#mfa-policy))',
  }),
  ARGON2_MEMORY_KIB: integer({
    default: OWASP_ARGON2.memoryKiB,
    min: 7_168,
    max: 4_194_304,
    doc:
      "argon2id memory cost (OWASP's parameters). With `ARGON2_ITERATIONS`, a setting weaker than every one of OWASP's equivalents " +
      `(${OWASP_ARGON2_FLOORS.map(([m, t]) => `${m}×${t}`).join(', ')} KiB×iterations) is refused`,
  }),
  ARGON2_ITERATIONS: integer({
    default: OWASP_ARGON2.iterations,
    min: 1,
    max: 64,
    doc: 'argon2id time cost (see `ARGON2_MEMORY_KIB`)',
  }),
  ARGON2_PARALLELISM: integer({ default: OWASP_ARGON2.parallelism, min: 1, max: 16, doc: 'argon2id lanes' }),
  HASH_CONCURRENCY: integer({
    // The cores are shared by the workers: by default each hashes cores ÷ workers at a time, so together they use every core and no more.
    default: ({ cores, WORKERS }) => Math.max(1, Math.floor(cores / WORKERS)),
    defaultDoc: 'cores ÷ `WORKERS` (at least 1)',
    min: 1,
    max: 256,
    doc: 'hashing threads per process: password hashes computed at once',
  }),
  HASH_THREAD_NICE: integer({
    default: 10,
    min: 0,
    max: 19,
    doc: "the hashing threads' nice value (Linux): above 0 the event loop gets a core first, so token checks stay fast during a login storm; 0 = equal footing",
  }),
  HASH_QUEUE_LIMIT: integer({
    default: 128,
    min: 0,
    max: 100_000,
    doc: 'hashes that may wait; beyond that (or beyond `HASH_MAX_WAIT_MS`), 503 with `Retry-After`',
  }),
  HASH_MAX_WAIT_MS: integer({
    default: 1000,
    min: 10,
    max: 60_000,
    doc: 'longest a password hash may wait for the pool before the login gets 503',
  }),

  // Sessions, caches and keys.
  SESSION_IDLE_TIMEOUT_SECONDS: integer({
    default: 14 * DAY_SECONDS,
    defaultDoc: '`1209600` (14 days)',
    min: 60,
    max: 365 * DAY_SECONDS,
    doc: 'a session ends after this long without a refresh',
  }),
  SESSION_MAX_LIFETIME_SECONDS: integer({
    default: 90 * DAY_SECONDS,
    defaultDoc: '`7776000` (90 days)',
    min: 60,
    max: 3650 * DAY_SECONDS,
    doc: 'a session ends this long after login, whatever the refreshes; not shorter than `SESSION_IDLE_TIMEOUT_SECONDS`',
  }),
  REFRESH_REUSE_GRACE_SECONDS: integer({
    default: 10,
    min: 0,
    max: 300,
    doc: 'how long a just-retired refresh token still gets the current one instead of ending the session (0 = no grace)',
  }),
  AUTH_CACHE_TTL_SECONDS: integer({
    default: 60,
    min: 0,
    max: 3600,
    doc: 'the longest an entry lives in the in-process authentication cache (invalidation is immediate regardless; 0 disables the cache)',
  }),
  AUTH_CACHE_MAX_ENTRIES: integer({
    default: 10_000,
    min: 0,
    max: 10_000_000,
    doc: 'entries per kind (users, sessions, clients) in that cache',
  }),
  JWKS_MAX_AGE_SECONDS: integer({
    default: 300,
    min: 0,
    max: 86_400,
    doc: '`Cache-Control: max-age` of the JWKS and metadata; a new key is published at least this long before it signs',
  }),
  KEY_ROTATION_DAYS: integer({
    default: 0,
    defaultDoc: '`0` (off)',
    min: 0,
    max: 3650,
    doc: 'rotate asymmetric signing keys automatically after this many days (0: only by `portcullis keys rotate`)',
  }),

  // Abuse resistance.
  RATE_LIMITS: onOff({
    default: true,
    doc: '`off` disables the rate limits and the login backoff (logged as a warning at start)',
  }),
  RATE_LIMIT_IP_PER_MINUTE: integer({
    default: 60,
    min: 1,
    max: 1_000_000,
    doc: 'the per-address bucket of the auth routes (`/token`, `/users`, `/revoke`, `/introspect`, the password routes): tokens added per minute',
  }),
  RATE_LIMIT_IP_BURST: integer({
    default: 30,
    min: 1,
    max: 1_000_000,
    doc: 'the per-address bucket: how many requests may come at once',
  }),
  RATE_LIMIT_ACCOUNT_PER_MINUTE: integer({
    default: 10,
    min: 1,
    max: 1_000_000,
    doc: 'the per-account bucket (password grant and password change): tokens added per minute',
  }),
  RATE_LIMIT_ACCOUNT_BURST: integer({
    default: 10,
    min: 1,
    max: 1_000_000,
    doc: 'the per-account bucket: how many requests may come at once',
  }),
  LOGIN_BACKOFF_FREE_FAILURES: integer({
    default: 3,
    min: 0,
    max: 1000,
    doc: 'failed logins of an (account, source) pair before the backoff starts',
  }),
  LOGIN_BACKOFF_BASE_SECONDS: integer({ default: 1, min: 1, max: 3600, doc: "the backoff's first wait" }),
  LOGIN_BACKOFF_MAX_SECONDS: integer({
    default: 900,
    min: 1,
    max: 86_400,
    doc: "the backoff's cap; not smaller than `LOGIN_BACKOFF_BASE_SECONDS`",
  }),
  SPRAY_ACCOUNTS_PER_HOUR: integer({
    default: 20,
    min: 1,
    max: 1_000_000,
    doc: 'distinct accounts one source may fail on per hour before it is throttled',
  }),
  LOGIN_CHALLENGE_WORK: integer({
    default: 8_000_000,
    min: 1000,
    max: 1_000_000_000,
    doc: 'PBKDF2-SHA256 iterations a level-0 login challenge takes at most (about 0.8 s of a browser here)',
  }),
  LOGIN_CHALLENGE_MAX_DOUBLINGS: integer({
    default: 5,
    min: 0,
    max: 10,
    doc: "how often the challenge's work may double as an attack goes on (the owner's worst case is one solve at this level)",
  }),
} as const satisfies Record<string, Setting<unknown>>;

export type CoreSettingValues = ValuesOf<typeof CORE_SETTINGS>;

/** Rules across core's settings: each returns the problem, or undefined. */
export const CORE_RULES: ReadonlyArray<SettingRule<CoreSettingValues>> = [
  (settings) => relyingPartyProblem(relyingPartyOf(settings)),
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
];

/** What users reach: PUBLIC_URL, or ISSUER, without a trailing slash. */
export function publicUrlOf({ PUBLIC_URL, ISSUER }: Pick<CoreSettingValues, 'PUBLIC_URL' | 'ISSUER'>): string {
  return (PUBLIC_URL ?? ISSUER).replace(/\/+$/, '');
}

/** The WebAuthn relying party: WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS, or PUBLIC_URL's host and origin. */
export function relyingPartyOf(
  settings: Pick<CoreSettingValues, 'PUBLIC_URL' | 'ISSUER' | 'PRODUCT_NAME' | 'WEBAUTHN_RP_ID' | 'WEBAUTHN_ORIGINS'>,
): { readonly id: string; readonly name: string; readonly origins: readonly string[] } {
  const publicUrl = publicUrlOf(settings);
  const url = URL.canParse(publicUrl) ? new URL(publicUrl) : undefined;
  return {
    id: settings.WEBAUTHN_RP_ID ?? url?.hostname.replace(/^\[|\]$/g, '') ?? '',
    name: settings.PRODUCT_NAME,
    origins: settings.WEBAUTHN_ORIGINS.length > 0 ? settings.WEBAUTHN_ORIGINS : url ? [url.origin] : [],
  };
}

/** WebAuthn §5.1.4.1: each origin's host is the RP ID or a subdomain of it. */
function relyingPartyProblem(rp: { readonly id: string; readonly origins: readonly string[] }): string | undefined {
  const outside = rp.origins.filter((origin) => {
    const host = new URL(origin).hostname.replace(/^\[|\]$/g, '');
    return host !== rp.id && !host.endsWith(`.${rp.id}`);
  });
  return outside.length === 0
    ? undefined
    : `WebAuthn: ${outside.join(', ')} ${outside.length === 1 ? 'is' : 'are'} not on ${rp.id} (WEBAUTHN_RP_ID) or under it; set WEBAUTHN_RP_ID to a suffix they share, or WEBAUTHN_ORIGINS`;
}
