/**
 * Errors of the verifier. Each has a stable `code` (the contract) and carries
 * what an HTTP framework needs to answer with: `status`, `detail` (the JSON
 * body's human string, as the Portcullis server words it) and
 * `wwwAuthenticate` (RFC 6750 §3). Messages never contain the token.
 */
export type VerifierErrorCode =
  | 'ERR_NO_TOKEN'
  | 'ERR_INVALID_TOKEN'
  | 'ERR_INSUFFICIENT_SCOPE'
  | 'ERR_INSUFFICIENT_USER_AUTHENTICATION'
  | 'ERR_JWKS_UNAVAILABLE'
  | 'ERR_REVOCATIONS_UNAVAILABLE';

export abstract class VerifierError extends Error {
  abstract readonly code: VerifierErrorCode;
  abstract readonly status: number;
  /** The human string for a `{"detail": ...}` body; fixed per code. */
  abstract readonly detail: string;
  /** The `WWW-Authenticate` header value, when the answer needs one. */
  abstract readonly wwwAuthenticate: string | undefined;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The request carries no bearer token (no Authorization header, or another scheme). */
export class NoTokenError extends VerifierError {
  readonly code = 'ERR_NO_TOKEN';
  readonly status = 401;
  readonly detail = 'Not authenticated';
  readonly wwwAuthenticate = 'Bearer';

  constructor() {
    super('Not authenticated');
  }
}

/**
 * Malformed, badly signed, expired, not yet valid, wrong `iss`/`aud`/`typ`,
 * unexpected `alg`, unknown `kid` or missing claims. `reason` says which
 * (a jose error code such as `ERR_JWT_EXPIRED`, or one of ours) for logs.
 */
export class InvalidTokenError extends VerifierError {
  readonly code = 'ERR_INVALID_TOKEN';
  readonly status = 401;
  readonly detail = 'Could not validate credentials';
  readonly wwwAuthenticate = 'Bearer error="invalid_token"';

  constructor(readonly reason: string) {
    super(`Could not validate credentials (${reason})`);
  }
}

/**
 * A well-signed token whose session the revocation feed lists as revoked
 * (logged out, ended, its user disabled or removed, or its password changed
 * since the token was issued). An InvalidTokenError (`ERR_INVALID_TOKEN`,
 * 401), answered as the Portcullis server answers a revoked token.
 */
export class RevokedTokenError extends InvalidTokenError {
  constructor() {
    super('session revoked');
  }
}

/** A valid token that lacks one of the scopes the resource needs. */
export class InsufficientScopeError extends VerifierError {
  readonly code = 'ERR_INSUFFICIENT_SCOPE';
  readonly status = 403;
  readonly detail = 'Not enough permissions';
  readonly wwwAuthenticate: string;

  /** `requiredScopes`: every scope the resource needs (RFC 6750 §3's `scope` attribute). */
  constructor(readonly requiredScopes: readonly string[]) {
    super('Not enough permissions');
    this.wwwAuthenticate = `Bearer error="insufficient_scope", scope="${requiredScopes.join(' ')}"`;
  }
}

/**
 * RFC 9470: a valid token whose login is not strong enough (no second factor where `mfa` is
 * required) or too old (`maxAgeSeconds`). The client sends the user through a (fresh) login.
 */
export class InsufficientUserAuthenticationError extends VerifierError {
  readonly code = 'ERR_INSUFFICIENT_USER_AUTHENTICATION';
  readonly status = 401;
  readonly detail: string;
  readonly wwwAuthenticate: string;

  constructor(
    detail: string,
    /** The oldest login accepted, in seconds (`max_age`). */
    readonly maxAgeSeconds?: number,
    /** The `acr` values accepted (`acr_values`). */
    readonly acrValues?: readonly string[],
  ) {
    super(detail);
    this.detail = detail;
    const parts = ['error="insufficient_user_authentication"', `error_description="${detail}"`];
    if (acrValues !== undefined) parts.push(`acr_values="${acrValues.join(' ')}"`);
    if (maxAgeSeconds !== undefined) parts.push(`max_age=${maxAgeSeconds}`);
    this.wwwAuthenticate = `Bearer ${parts.join(', ')}`;
  }
}

/**
 * The keys could not be had: the metadata or the JWKS could not be fetched
 * (network error, timeout, non-200, malformed body, issuer mismatch) and no
 * cached key fits the token. The token may well be valid, hence 503, not 401.
 */
export class JwksUnavailableError extends VerifierError {
  readonly code = 'ERR_JWKS_UNAVAILABLE';
  readonly status = 503;
  readonly detail = 'Service temporarily unavailable';
  readonly wwwAuthenticate = undefined;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The revocation feed has not answered for longer than `maxStalenessSeconds`
 * (or not yet at all), and the verifier is set to refuse tokens then
 * (`whenStale: 'refuse'`, the default): it cannot tell whether the token's
 * session was revoked. The token may well be valid, hence 503, not 401.
 */
export class RevocationsUnavailableError extends VerifierError {
  readonly code = 'ERR_REVOCATIONS_UNAVAILABLE';
  readonly status = 503;
  readonly detail = 'Service temporarily unavailable';
  readonly wwwAuthenticate = undefined;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
