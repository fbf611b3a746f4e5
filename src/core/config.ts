/**
 * Core's configuration: what core reads (tokens, accounts and passwords,
 * sessions, caches, keys, abuse resistance), built from core's settings
 * (settings.ts) once the server has parsed the environment through every
 * layer's table (server/config.ts), which reports every mistake in a single
 * ConfigError. Core never reads process.env.
 */
import type { MfaPolicy } from './factors/mfa-policy.js';
import type { AccessTokenAlgorithm } from './tokens/algorithms.js';
import { publicUrlOf, relyingPartyOf, type CoreSettingValues } from './settings.js';
import type { WebAuthnSettings } from './factors/webauthn.js';

export { OWASP_ARGON2, OWASP_ARGON2_FLOORS, type Env } from './settings.js';

export type Registration = 'open' | 'closed';

export interface Argon2Parameters {
  readonly memoryKiB: number;
  readonly iterations: number;
  readonly parallelism: number;
}

/** Sign-in links (magic links) by mail: off unless SIGN_IN_LINKS=on. */
export interface SignInLinkSettings {
  readonly enabled: boolean;
  readonly ttlMinutes: number;
  /** Links per account per hour (a token bucket of that burst). */
  readonly mailsPerHour: number;
}

export interface Config {
  /** HMAC key as given (its UTF-8 bytes sign tokens, as the guide's jwt.encode does). Never log. */
  readonly secretKey: string;
  readonly algorithm: AccessTokenAlgorithm;
  readonly accessTokenTtlSeconds: number;
  readonly issuer: string;
  readonly audience: string | undefined;
  /** Where users reach Portcullis (PUBLIC_URL, else ISSUER), without a trailing slash. */
  readonly publicUrl: string;
  /** The name messages sign with and authenticators show (PRODUCT_NAME). */
  readonly productName: string;
  /** WebAuthn: the relying party (from PUBLIC_URL unless set) and whether a passkey alone signs in. */
  readonly webauthn: WebAuthnSettings;
  readonly clockToleranceSeconds: number;
  readonly registration: Registration;
  readonly defaultScopes: readonly string[];
  readonly passwordMinLength: number;
  /** How long a password reset token is usable. */
  readonly passwordResetTtlMinutes: number;
  /** Reset messages per account per hour (a token bucket of that burst). */
  readonly passwordResetMailsPerHour: number;
  /** How long an e-mail verification token is usable. */
  readonly emailVerificationTtlHours: number;
  /** Verification messages per account per hour that a resend may send (a token bucket of that burst). */
  readonly emailVerificationMailsPerHour: number;
  /** The password grant refuses an account without a verified address (after the password was right). */
  readonly requireVerifiedEmail: boolean;
  /** Sign-in links by mail (SIGN_IN_LINKS and its limits). */
  readonly signInLinks: SignInLinkSettings;
  /** MFA_POLICY: whose logins need a second factor, besides the users an administrator flagged. */
  readonly mfaPolicy: MfaPolicy;
  readonly argon2: Argon2Parameters;
  /** Hashing threads per process (core's password hashing pool, built by the server). */
  readonly hashConcurrency: number;
  readonly hashQueueLimit: number;
  /** The nice value of the hashing threads (0-19; Linux): above 0 the event loop goes first. */
  readonly hashThreadNice: number;
  readonly sessionIdleSeconds: number;
  readonly sessionMaxSeconds: number;
  readonly refreshReuseGraceSeconds: number;
  readonly authCacheTtlSeconds: number;
  readonly authCacheMaxEntries: number;
  /** Asymmetric keys: rotate automatically after this many days (0: only by `portcullis keys rotate`). */
  readonly keyRotationDays: number;
  /** Cache-Control max-age of the JWKS; a new key is published at least this long before it signs. */
  readonly jwksMaxAgeSeconds: number;
  /** Abuse resistance (rate limits, login backoff, admission control). */
  readonly abuse: AbuseSettings;
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

/** What core's config depends on beyond its own settings: NODE_ENV's verdict and the data folder (the key file). */
export interface CoreConfigContext {
  readonly production: boolean;
  readonly dataDir: string;
}

/** Core's config from its settings' values; a missing or weak SECRET_KEY is pushed to problems. */
export function coreConfig(
  settings: CoreSettingValues,
  context: CoreConfigContext,
  options: LoadConfigOptions,
  problems: string[],
): Config {
  const secretKey = resolveSecretKey(settings.SECRET_KEY, context.production, context.dataDir, options, problems);
  const abuse: AbuseSettings = {
    rateLimitsEnabled: settings.RATE_LIMITS,
    ipLimit: Object.freeze({ perMinute: settings.RATE_LIMIT_IP_PER_MINUTE, burst: settings.RATE_LIMIT_IP_BURST }),
    accountLimit: Object.freeze({ perMinute: settings.RATE_LIMIT_ACCOUNT_PER_MINUTE, burst: settings.RATE_LIMIT_ACCOUNT_BURST }),
    backoffFreeFailures: settings.LOGIN_BACKOFF_FREE_FAILURES,
    backoffBaseSeconds: settings.LOGIN_BACKOFF_BASE_SECONDS,
    backoffMaxSeconds: settings.LOGIN_BACKOFF_MAX_SECONDS,
    sprayAccountsPerHour: settings.SPRAY_ACCOUNTS_PER_HOUR,
    challenge: Object.freeze({ work: settings.LOGIN_CHALLENGE_WORK, maxDoublings: settings.LOGIN_CHALLENGE_MAX_DOUBLINGS }),
    hashMaxWaitMs: settings.HASH_MAX_WAIT_MS,
  };
  return {
    secretKey,
    algorithm: settings.ALGORITHM,
    accessTokenTtlSeconds: settings.ACCESS_TOKEN_EXPIRE_MINUTES * 60,
    issuer: settings.ISSUER,
    audience: settings.AUDIENCE,
    publicUrl: publicUrlOf(settings),
    productName: settings.PRODUCT_NAME,
    webauthn: Object.freeze({
      relyingParty: Object.freeze(relyingPartyOf(settings)),
      passkeyLogin: settings.PASSKEY_LOGIN,
    }),
    clockToleranceSeconds: settings.CLOCK_TOLERANCE_SECONDS,
    registration: settings.REGISTRATION,
    defaultScopes: Object.freeze([...settings.DEFAULT_SCOPES]),
    passwordMinLength: settings.PASSWORD_MIN_LENGTH,
    passwordResetTtlMinutes: settings.PASSWORD_RESET_TTL_MINUTES,
    passwordResetMailsPerHour: settings.PASSWORD_RESET_MAILS_PER_HOUR,
    emailVerificationTtlHours: settings.EMAIL_VERIFICATION_TTL_HOURS,
    emailVerificationMailsPerHour: settings.EMAIL_VERIFICATION_MAILS_PER_HOUR,
    requireVerifiedEmail: settings.REQUIRE_VERIFIED_EMAIL,
    mfaPolicy: settings.MFA_POLICY,
    signInLinks: Object.freeze({
      enabled: settings.SIGN_IN_LINKS,
      ttlMinutes: settings.SIGN_IN_LINK_TTL_MINUTES,
      mailsPerHour: settings.SIGN_IN_LINK_MAILS_PER_HOUR,
    }),
    argon2: Object.freeze({
      memoryKiB: settings.ARGON2_MEMORY_KIB,
      iterations: settings.ARGON2_ITERATIONS,
      parallelism: settings.ARGON2_PARALLELISM,
    }),
    hashConcurrency: settings.HASH_CONCURRENCY,
    hashQueueLimit: settings.HASH_QUEUE_LIMIT,
    hashThreadNice: settings.HASH_THREAD_NICE,
    sessionIdleSeconds: settings.SESSION_IDLE_TIMEOUT_SECONDS,
    sessionMaxSeconds: settings.SESSION_MAX_LIFETIME_SECONDS,
    refreshReuseGraceSeconds: settings.REFRESH_REUSE_GRACE_SECONDS,
    authCacheTtlSeconds: settings.AUTH_CACHE_TTL_SECONDS,
    authCacheMaxEntries: settings.AUTH_CACHE_MAX_ENTRIES,
    keyRotationDays: settings.KEY_ROTATION_DAYS,
    jwksMaxAgeSeconds: settings.JWKS_MAX_AGE_SECONDS,
    abuse: Object.freeze(abuse),
  };
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
