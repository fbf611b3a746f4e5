/**
 * HMAC keys from the shared secret, imported once per algorithm as a
 * non-extractable CryptoKey (faster per verify than handing jose the bytes;
 * see bench/jwt-verify.ts). A CryptoKey is bound to its hash, so an HS384
 * token can never be checked with the HS256 key or the other way round.
 */
import { webcrypto } from 'node:crypto';
import type { CryptoKey, JWSHeaderParameters } from 'jose';
import { InvalidTokenError } from './errors.js';
import type { HmacAlgorithm } from './options.js';

export function createSecretKeyResolver(
  secret: Uint8Array,
  algorithms: readonly HmacAlgorithm[],
): (header: JWSHeaderParameters) => Promise<CryptoKey> {
  const keys = new Map<HmacAlgorithm, Promise<CryptoKey>>();
  return async (header) => {
    const alg = header.alg as HmacAlgorithm;
    if (!algorithms.includes(alg)) throw new InvalidTokenError('ERR_JOSE_ALG_NOT_ALLOWED');
    let key = keys.get(alg);
    if (key === undefined) {
      key = webcrypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: `SHA-${alg.slice(2)}` }, false, [
        'verify',
      ]) as Promise<CryptoKey>;
      keys.set(alg, key);
    }
    return key;
  };
}
