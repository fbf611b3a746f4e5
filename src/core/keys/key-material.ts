/** Generating key pairs with node:crypto and exporting their public JWK (public members only). */
import { createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { AsymmetricAlgorithm } from '../tokens/algorithms.js';
import type { PublicJwk } from './signing-key.js';

export interface GeneratedKey {
  readonly kid: string;
  readonly publicJwk: PublicJwk;
  readonly publicPem: string;
  readonly privatePem: string;
}

function generate(algorithm: AsymmetricAlgorithm): { publicKey: KeyObject; privateKey: KeyObject } {
  switch (algorithm) {
    case 'EdDSA':
      return generateKeyPairSync('ed25519');
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'RS256':
    case 'PS256':
      return generateKeyPairSync('rsa', { modulusLength: 2048 });
  }
}

const PUBLIC_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  OKP: ['kty', 'crv', 'x'],
  EC: ['kty', 'crv', 'x', 'y'],
  RSA: ['kty', 'n', 'e'],
};

/** The public JWK of a key: only the members RFC 7518/8037 name as public, whatever the export gives. */
export function publicJwkOf(publicPem: string, kid: string, algorithm: AsymmetricAlgorithm): PublicJwk {
  const exported = createPublicKey(publicPem).export({ format: 'jwk' }) as Record<string, unknown>;
  const members = PUBLIC_MEMBERS[String(exported.kty)];
  if (!members) throw new TypeError(`unsupported key type ${String(exported.kty)}`);
  const jwk: Record<string, string> = {};
  for (const member of members) jwk[member] = String(exported[member]);
  return { ...jwk, kty: String(exported.kty), kid, alg: algorithm, use: 'sig' };
}

export function generateSigningKey(algorithm: AsymmetricAlgorithm): GeneratedKey {
  const { publicKey, privateKey } = generate(algorithm);
  const kid = randomBytes(12).toString('base64url');
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return {
    kid,
    publicJwk: publicJwkOf(publicPem, kid, algorithm),
    publicPem,
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** The SPKI PEM of a public JWK (as stored), for the verifier. */
export function publicPemOf(jwk: PublicJwk): string {
  return createPublicKey({ key: { ...jwk }, format: 'jwk' })
    .export({ type: 'spki', format: 'pem' })
    .toString();
}
