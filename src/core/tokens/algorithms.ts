/** Signing algorithms Portcullis issues and accepts. The verifier pins exactly the configured one. */
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export const ASYMMETRIC_ALGORITHMS = ['EdDSA', 'ES256', 'RS256', 'PS256'] as const;
export type HmacAlgorithm = (typeof HMAC_ALGORITHMS)[number];
export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];
export type AccessTokenAlgorithm = HmacAlgorithm | AsymmetricAlgorithm;

export function isHmacAlgorithm(value: string): value is HmacAlgorithm {
  return (HMAC_ALGORITHMS as readonly string[]).includes(value);
}

export function isAsymmetricAlgorithm(value: string): value is AsymmetricAlgorithm {
  return (ASYMMETRIC_ALGORITHMS as readonly string[]).includes(value);
}

/**
 * The algorithm of the key store: ALGORITHM when it is asymmetric (its keys sign access tokens and
 * ID tokens alike); with an HMAC ALGORITHM, RS256, the algorithm OpenID Connect requires every
 * provider to offer (Core §15.1), whose keys then sign only ID and logout tokens (ADR 0028).
 */
export function keyStoreAlgorithm(algorithm: AccessTokenAlgorithm): AsymmetricAlgorithm {
  return isAsymmetricAlgorithm(algorithm) ? algorithm : 'RS256';
}
