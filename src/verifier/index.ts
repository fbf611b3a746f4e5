/**
 * The verifier library for resource servers (`portcullis/verifier`): verify
 * Portcullis access tokens with the issuer's JWKS or the shared secret.
 * Loads jose and nothing else of Portcullis; the Fastify plugin needs only
 * Fastify's types. With the `revocations` option it also follows the
 * server's revocation feed (GET /revocations).
 */
export { createVerifier, ACCESS_TOKEN_TYPE, MAX_TOKEN_LENGTH, type Verifier, type VerifyOptions } from './verifier.js';
export { ACR_MFA, assertAuthentication, assertScopes, parseScope, type AuthenticationRequirement, type VerifiedToken } from './claims.js';
export { parseBearerToken } from './bearer.js';
export {
  VerifierError,
  NoTokenError,
  InvalidTokenError,
  InsufficientScopeError,
  InsufficientUserAuthenticationError,
  JwksUnavailableError,
  RevokedTokenError,
  RevocationsUnavailableError,
  type VerifierErrorCode,
} from './errors.js';
export {
  DEFAULT_ASYMMETRIC_ALGORITHMS,
  DEFAULT_HMAC_ALGORITHMS,
  type AsymmetricAlgorithm,
  type HmacAlgorithm,
  type IssuerVerifierOptions,
  type JwksVerifierOptions,
  type RevocationFeedOptions,
  type SecretVerifierOptions,
  type VerifierClock,
  type VerifierOptions,
} from './options.js';
export type { RevocationFeed, RevocationFeedStats, RevocationSyncResult } from './revocation-feed.js';
export { portcullisVerifier, sendVerifierError, type PortcullisVerifierOptions } from './fastify-plugin.js';
