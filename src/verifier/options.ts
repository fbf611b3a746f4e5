/**
 * Options of `createVerifier`, and their validation. Misuse is a TypeError
 * at construction, never a verification error later. The algorithm lists are
 * kept apart on purpose: a key set never accepts an HMAC algorithm and a
 * secret never accepts an asymmetric one (algorithm confusion).
 */
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export const ASYMMETRIC_ALGORITHMS = [
  'EdDSA',
  'Ed25519',
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
] as const;

export type HmacAlgorithm = (typeof HMAC_ALGORITHMS)[number];
export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];

export const DEFAULT_ASYMMETRIC_ALGORITHMS: readonly AsymmetricAlgorithm[] = ['EdDSA', 'ES256', 'RS256', 'PS256'];
export const DEFAULT_HMAC_ALGORITHMS: readonly HmacAlgorithm[] = HMAC_ALGORITHMS;
/** The Portcullis server refuses a shorter SECRET_KEY; a shorter one here is a mistake. */
export const MIN_SECRET_BYTES = 32;

/**
 * Following the server's revocation feed (GET /revocations), so that a token
 * of a revoked session (logout, a disabled or removed user, a password change)
 * is refused within about `intervalMs` instead of being accepted until it
 * expires. The feed needs a service client (`portcullis clients add`).
 */
export interface RevocationFeedOptions {
  /** The service client's id and secret (HTTP Basic). */
  clientId: string;
  clientSecret: string;
  /** Default `{issuer}/revocations`. */
  url?: string | URL;
  /** How often to ask. Default 2000. */
  intervalMs?: number;
  /** The feed is stale once it has not answered for this long (then `whenStale` applies). Default 30; more than `intervalMs`. */
  maxStalenessSeconds?: number;
  /**
   * While the feed is stale: `'refuse'` (the default) answers every token
   * with a session 503 (RevocationsUnavailableError); `'accept'` accepts
   * tokens that verify and logs a warning once per outage. Tokens listed
   * before the feed went quiet are refused either way.
   */
  whenStale?: 'refuse' | 'accept';
  /** Timeout of each request. Default 5000. */
  fetchTimeoutMs?: number;
  /** Where the feed's outages and recoveries are reported. Default console.error (stderr); the Fastify plugin uses the app's logger. */
  log?: (message: string) => void;
}

/** The verifier's time source. */
export interface VerifierClock {
  /** Milliseconds since the epoch. */
  now(): number;
}

interface CommonOptions {
  /** The `iss` every token must carry, exactly (the server's ISSUER). */
  issuer: string;
  /** When set, the token's `aud` must contain it (the server's AUDIENCE). */
  audience?: string;
  /** Scopes every token must hold, on top of those asked for per call. */
  requiredScopes?: readonly string[];
  /** Leeway for `exp`, `nbf` and `iat`. Default 5. */
  clockToleranceSeconds?: number;
  /** Follow the server's revocation feed; without it a revoked session's tokens are accepted until they expire. */
  revocations?: RevocationFeedOptions;
  /** The time for `exp`/`nbf` and the revocation feed's staleness; default the system clock. For tests. */
  clock?: VerifierClock;
}

interface RemoteKeyOptions extends CommonOptions {
  /** Default ['EdDSA', 'ES256', 'RS256', 'PS256']; HMAC algorithms are refused. */
  algorithms?: readonly AsymmetricAlgorithm[];
  /** Timeout of each metadata or JWKS request. Default 5000. */
  fetchTimeoutMs?: number;
  /** After a JWKS fetch, an unknown `kid` triggers no other fetch for this long. Default 30. */
  jwksCooldownSeconds?: number;
  /** The key set is refetched when older than this. Default 300, the server's JWKS_MAX_AGE_SECONDS default: keep it at or below that setting, so a new key is always seen before it signs. */
  jwksCacheMaxAgeSeconds?: number;
  secret?: undefined;
}

/** Discover `jwks_uri` from `{issuer}/.well-known/oauth-authorization-server` (RFC 8414). */
export interface IssuerVerifierOptions extends RemoteKeyOptions {
  jwksUri?: undefined;
}

/** Fetch the keys from this JWKS URL (RFC 7517), typically `{issuer}/.well-known/jwks.json`. */
export interface JwksVerifierOptions extends RemoteKeyOptions {
  jwksUri: string | URL;
}

/** HMAC tokens: the server's SECRET_KEY (a string is taken as its UTF-8 bytes). */
export interface SecretVerifierOptions extends CommonOptions {
  secret: string | Uint8Array;
  /** Default ['HS256', 'HS384', 'HS512']; asymmetric algorithms are refused. */
  algorithms?: readonly HmacAlgorithm[];
  jwksUri?: undefined;
}

export type VerifierOptions = IssuerVerifierOptions | JwksVerifierOptions | SecretVerifierOptions;

export interface NormalizedRevocations {
  readonly url: URL;
  /** The `Authorization: Basic` header value. */
  readonly authorization: string;
  readonly intervalMs: number;
  readonly maxStalenessMs: number;
  readonly whenStale: 'refuse' | 'accept';
  readonly fetchTimeoutMs: number;
  readonly log: (message: string) => void;
}

interface NormalizedCommon {
  readonly issuer: string;
  readonly audience: string | undefined;
  readonly requiredScopes: readonly string[];
  readonly clockToleranceSeconds: number;
  readonly revocations: NormalizedRevocations | undefined;
  readonly clock: VerifierClock;
}

export interface NormalizedRemote extends NormalizedCommon {
  readonly kind: 'remote';
  /** undefined: discover it from the issuer's metadata. */
  readonly jwksUri: URL | undefined;
  readonly algorithms: readonly AsymmetricAlgorithm[];
  readonly fetchTimeoutMs: number;
  readonly jwksCooldownMs: number;
  readonly jwksCacheMaxAgeMs: number;
}

export interface NormalizedSecret extends NormalizedCommon {
  readonly kind: 'secret';
  readonly secret: Uint8Array;
  readonly algorithms: readonly HmacAlgorithm[];
}

export type NormalizedOptions = NormalizedRemote | NormalizedSecret;

/** RFC 6749 §3.3 scope-token: no space, quote or backslash, so it fits in a WWW-Authenticate quoted-string. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export function checkScopes(scopes: readonly string[] | undefined, name: string): readonly string[] {
  if (scopes === undefined) return [];
  if (!Array.isArray(scopes)) throw new TypeError(`${name} must be an array of scope strings`);
  for (const scope of scopes) {
    if (typeof scope !== 'string' || !SCOPE_TOKEN.test(scope)) {
      throw new TypeError(`${name} holds an invalid scope: ${JSON.stringify(scope)}`);
    }
  }
  return Object.freeze([...scopes]);
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`${name} must be a finite number >= 0`);
  }
  return value;
}

function checkAlgorithms<T extends string>(
  given: readonly string[] | undefined,
  allowed: readonly T[],
  fallback: readonly T[],
  what: string,
): readonly T[] {
  if (given === undefined) return fallback;
  if (!Array.isArray(given) || given.length === 0) throw new TypeError('algorithms must be a non-empty array');
  for (const alg of given) {
    if (!(allowed as readonly string[]).includes(alg)) {
      throw new TypeError(`algorithm ${JSON.stringify(alg)} cannot be used with ${what}; allowed: ${allowed.join(', ')}`);
    }
  }
  return Object.freeze([...new Set(given)]) as readonly T[];
}

function httpUrl(value: string | URL, name: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`${name} must be an absolute URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`${name} must be an http(s) URL`);
  return url;
}

const systemClock: VerifierClock = Object.freeze({ now: () => Date.now() });

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer`);
  return value;
}

function nonEmptyString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${name} must be a non-empty string`);
  return value;
}

function normalizeRevocations(options: RevocationFeedOptions | undefined, issuer: string): NormalizedRevocations | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== 'object') throw new TypeError('revocations must be an object');
  const clientId = nonEmptyString(options.clientId, 'revocations.clientId');
  const clientSecret = nonEmptyString(options.clientSecret, 'revocations.clientSecret');
  const url = httpUrl(
    options.url ?? `${issuer.replace(/\/+$/, '')}/revocations`,
    options.url === undefined ? 'issuer (for revocations.url)' : 'revocations.url',
  );
  const intervalMs = positiveInteger(options.intervalMs, 2000, 'revocations.intervalMs');
  const maxStalenessMs = nonNegative(options.maxStalenessSeconds, 30, 'revocations.maxStalenessSeconds') * 1000;
  if (maxStalenessMs <= intervalMs) throw new TypeError('revocations.maxStalenessSeconds must be longer than revocations.intervalMs');
  const whenStale = options.whenStale ?? 'refuse';
  if (whenStale !== 'refuse' && whenStale !== 'accept') throw new TypeError("revocations.whenStale must be 'refuse' or 'accept'");
  if (options.log !== undefined && typeof options.log !== 'function') throw new TypeError('revocations.log must be a function');
  // RFC 6749 §2.3.1: each part form-urlencoded, then base64.
  const basic = btoa(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`);
  return Object.freeze({
    url,
    authorization: `Basic ${basic}`,
    intervalMs,
    maxStalenessMs,
    whenStale,
    fetchTimeoutMs: positiveInteger(options.fetchTimeoutMs, 5000, 'revocations.fetchTimeoutMs'),
    log: options.log ?? ((message: string) => console.error(message)),
  });
}

function checkClock(clock: VerifierClock | undefined): VerifierClock {
  if (clock === undefined) return systemClock;
  if (clock === null || typeof clock.now !== 'function') throw new TypeError('clock must have a now() method');
  return clock;
}

export function normalizeOptions(options: VerifierOptions): NormalizedOptions {
  if (options === null || typeof options !== 'object') throw new TypeError('verifier options must be an object');
  const { issuer, audience } = options;
  if (typeof issuer !== 'string' || issuer === '') throw new TypeError('issuer must be a non-empty string');
  if (audience !== undefined && (typeof audience !== 'string' || audience === '')) {
    throw new TypeError('audience must be a non-empty string');
  }
  const common: NormalizedCommon = {
    issuer,
    audience,
    requiredScopes: checkScopes(options.requiredScopes, 'requiredScopes'),
    clockToleranceSeconds: nonNegative(options.clockToleranceSeconds, 5, 'clockToleranceSeconds'),
    revocations: normalizeRevocations(options.revocations, issuer),
    clock: checkClock(options.clock),
  };
  if (options.secret !== undefined) {
    if (options.jwksUri !== undefined) throw new TypeError('give either secret or jwksUri, not both');
    const secret = typeof options.secret === 'string' ? new TextEncoder().encode(options.secret) : options.secret;
    if (!(secret instanceof Uint8Array)) throw new TypeError('secret must be a string or a Uint8Array');
    if (secret.byteLength < MIN_SECRET_BYTES) throw new TypeError(`secret must be at least ${MIN_SECRET_BYTES} bytes`);
    const algorithms = checkAlgorithms(options.algorithms, HMAC_ALGORITHMS, DEFAULT_HMAC_ALGORITHMS, 'a shared secret');
    return Object.freeze({ kind: 'secret', ...common, secret: Uint8Array.from(secret), algorithms });
  }
  const remote = options as IssuerVerifierOptions | JwksVerifierOptions;
  const jwksUri = remote.jwksUri === undefined ? undefined : httpUrl(remote.jwksUri, 'jwksUri');
  if (jwksUri === undefined) httpUrl(issuer, 'issuer (used for discovery)');
  const fetchTimeoutMs = nonNegative(remote.fetchTimeoutMs, 5000, 'fetchTimeoutMs');
  if (!Number.isInteger(fetchTimeoutMs) || fetchTimeoutMs === 0) throw new TypeError('fetchTimeoutMs must be a positive integer');
  return Object.freeze({
    kind: 'remote',
    ...common,
    jwksUri,
    algorithms: checkAlgorithms(remote.algorithms, ASYMMETRIC_ALGORITHMS, DEFAULT_ASYMMETRIC_ALGORITHMS, 'a JWKS'),
    fetchTimeoutMs,
    jwksCooldownMs: nonNegative(remote.jwksCooldownSeconds, 30, 'jwksCooldownSeconds') * 1000,
    jwksCacheMaxAgeMs: nonNegative(remote.jwksCacheMaxAgeSeconds, 300, 'jwksCacheMaxAgeSeconds') * 1000,
  });
}
