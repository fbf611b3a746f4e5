/**
 * The verifier library for resource servers (`portcullis/verifier`): verify
 * Portcullis access tokens with the issuer's JWKS or the shared secret.
 * Loads jose and nothing else of Portcullis; the Fastify plugin needs only
 * Fastify's types.
 */
export { createVerifier, ACCESS_TOKEN_TYPE, MAX_TOKEN_LENGTH, type Verifier, type VerifyOptions } from './verifier.js';
export { assertScopes, parseScope, type VerifiedToken } from './claims.js';
export { parseBearerToken } from './bearer.js';
export {
  VerifierError,
  NoTokenError,
  InvalidTokenError,
  InsufficientScopeError,
  JwksUnavailableError,
  type VerifierErrorCode,
} from './errors.js';
export {
  DEFAULT_ASYMMETRIC_ALGORITHMS,
  DEFAULT_HMAC_ALGORITHMS,
  type AsymmetricAlgorithm,
  type HmacAlgorithm,
  type IssuerVerifierOptions,
  type JwksVerifierOptions,
  type SecretVerifierOptions,
  type VerifierOptions,
} from './options.js';
export { portcullisVerifier, sendVerifierError, type PortcullisVerifierOptions } from './fastify-plugin.js';
