/**
 * The framework-free verifier for resource servers: checks a Portcullis access token (RFC 9068 `at+jwt`)
 * against the issuer's published keys or the shared HMAC secret, and returns typed claims or a VerifierError
 * that maps to a 401, 403 or 503. Depends on jose only. The cheap checks (length, `alg`, `typ`, `kid`) run
 * before any key is looked up, so a garbage token never causes a JWKS fetch. A token of a revoked session is
 * accepted until it expires unless the `revocations` option follows the server's feed (ADR 0014).
 */
import { errors, jwtVerify, type CryptoKey, type FlattenedJWSInput, type JWSHeaderParameters, type JWTPayload } from 'jose';
import { parseBearerToken } from './bearer.js';
import { assertAuthentication, assertScopes, toVerifiedToken, type AuthenticationRequirement, type VerifiedToken } from './claims.js';
import { lazyJwksUri } from './discovery.js';
import { InvalidTokenError, VerifierError } from './errors.js';
import { checkScopes, normalizeOptions, type NormalizedOptions, type VerifierOptions } from './options.js';
import { createRemoteKeyResolver } from './remote-keys.js';
import { RevocationFeedFollower, type RevocationFeed } from './revocation-feed.js';
import { createSecretKeyResolver } from './secret-keys.js';

export const ACCESS_TOKEN_TYPE = 'at+jwt';
/** Far above any token Portcullis issues; a longer value is refused unparsed. */
export const MAX_TOKEN_LENGTH = 8192;
const REQUIRED_CLAIMS = ['sub', 'exp', 'iat', 'jti', 'scope'];
const KID_MAX_LENGTH = 256;

export interface VerifyOptions extends AuthenticationRequirement {
  /** Scopes this call needs, on top of the verifier's `requiredScopes`. */
  readonly requiredScopes?: readonly string[];
}

export interface Verifier {
  /** Verifies a bare token (without `Bearer `). */
  verify(token: string, options?: VerifyOptions): Promise<VerifiedToken>;
  /** Verifies the bearer token of an `Authorization` header value (RFC 6750 §2.1). */
  verifyRequest(authorizationHeader: string | undefined, options?: VerifyOptions): Promise<VerifiedToken>;
  /** The revocation feed it follows (the `revocations` option); undefined without one. */
  readonly revocations: RevocationFeed | undefined;
  /** Stops following the revocation feed; verify() must not be called after. Nothing to do without one. */
  close(): Promise<void>;
}

type KeyResolver = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

/** `typ` compared as RFC 8725 §3.11 and jose do: case-insensitive, `application/` optional. */
function isAccessTokenType(typ: unknown): boolean {
  if (typeof typ !== 'string') return false;
  const normalized = typ.toLowerCase();
  return normalized === ACCESS_TOKEN_TYPE || normalized === `application/${ACCESS_TOKEN_TYPE}`;
}

function keyResolverFor(options: NormalizedOptions): KeyResolver {
  if (options.kind === 'secret') return createSecretKeyResolver(options.secret, options.algorithms);
  const { jwksUri, issuer, fetchTimeoutMs, jwksCooldownMs, jwksCacheMaxAgeMs } = options;
  const getUrl =
    jwksUri === undefined ? lazyJwksUri(issuer, fetchTimeoutMs, Math.min(jwksCooldownMs, 5000)) : () => Promise.resolve(jwksUri);
  const remote = createRemoteKeyResolver(getUrl, {
    timeoutMs: fetchTimeoutMs,
    cooldownMs: jwksCooldownMs,
    cacheMaxAgeMs: jwksCacheMaxAgeMs,
  });
  return (header, token) => {
    const { kid } = header;
    // Portcullis names every published key; a token without a kid could only be matched by guessing.
    if (typeof kid !== 'string' || kid === '' || kid.length > KID_MAX_LENGTH) throw new InvalidTokenError('missing or invalid kid');
    return remote(header, token);
  };
}

export function createVerifier(verifierOptions: VerifierOptions): Verifier {
  const options = normalizeOptions(verifierOptions);
  const resolveKey = keyResolverFor(options);
  const getKey: KeyResolver = async (header, token) => {
    // Before any key lookup, so a token of the wrong type never costs a fetch.
    if (!isAccessTokenType(header.typ)) throw new InvalidTokenError('unexpected typ');
    return resolveKey(header, token);
  };
  const feed =
    options.revocations === undefined
      ? undefined
      : new RevocationFeedFollower(options.revocations, options.clock, options.clockToleranceSeconds * 1000);
  const jwtOptions = {
    algorithms: [...options.algorithms],
    issuer: options.issuer,
    ...(options.audience === undefined ? {} : { audience: options.audience }),
    typ: ACCESS_TOKEN_TYPE,
    requiredClaims: options.audience === undefined ? REQUIRED_CLAIMS : [...REQUIRED_CLAIMS, 'aud'],
    clockTolerance: options.clockToleranceSeconds,
  };

  async function verify(token: string, verifyOptions: VerifyOptions = {}): Promise<VerifiedToken> {
    const extraScopes = checkScopes(verifyOptions.requiredScopes, 'requiredScopes');
    if (typeof token !== 'string' || token === '') throw new InvalidTokenError('empty token');
    if (token.length > MAX_TOKEN_LENGTH) throw new InvalidTokenError('token too long');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, { ...jwtOptions, currentDate: new Date(options.clock.now()) }));
    } catch (error) {
      if (error instanceof VerifierError) throw error;
      // jose's errors name the check that failed; their messages never hold the token.
      const reason = error instanceof errors.JOSEError ? error.code : 'unverifiable token';
      throw new InvalidTokenError(reason);
    }
    const verified = toVerifiedToken(payload);
    // After the signature and claims (a forged token costs nothing here), before the scopes (revoked is the answer, not 403).
    await feed?.check(verified.sid, payload.ver);
    assertScopes(verified, extraScopes.length === 0 ? options.requiredScopes : [...new Set([...options.requiredScopes, ...extraScopes])]);
    // After the scopes: a token that could never do this is 403; one whose login is too weak or old, 401 (RFC 9470).
    assertAuthentication(verified, verifyOptions, options.clock.now());
    return verified;
  }

  return Object.freeze({
    verify,
    verifyRequest: async (authorizationHeader: string | undefined, verifyOptions?: VerifyOptions) =>
      verify(parseBearerToken(authorizationHeader), verifyOptions),
    revocations: feed,
    close: async () => feed?.close(),
  });
}
