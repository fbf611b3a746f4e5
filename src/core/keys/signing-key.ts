/**
 * Asymmetric signing keys and their life: `next` (published in the JWKS,
 * not yet signing) → `current` (signing) → `retired` (still published while
 * tokens it signed may be alive) → gone (deleted). ADR 0006.
 */
import type { AsymmetricAlgorithm } from '../tokens/algorithms.js';

export type KeyState = 'next' | 'current' | 'retired';

export interface PublicJwk {
  readonly kty: string;
  readonly kid: string;
  readonly alg: string;
  readonly use: 'sig';
  readonly [member: string]: string;
}

export interface SigningKeyRecord {
  readonly kid: string;
  readonly algorithm: AsymmetricAlgorithm;
  readonly state: KeyState;
  readonly publicJwk: PublicJwk;
  /** PKCS#8 PEM of the private key, in a SealedBox bound to the kid. */
  readonly privateSealed: string;
  readonly createdAt: number;
  readonly activatedAt: number | null;
  readonly retiredAt: number | null;
}
