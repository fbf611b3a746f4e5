/**
 * Firebase Authentication's modified scrypt, as published in firebase/scrypt: the key is
 * scrypt(password, salt ‖ salt separator, N = 2^mem_cost, r = rounds, p = 1, 32 bytes), and
 * the stored hash is the project's signer key encrypted with AES-256-CTR under that key, the
 * counter starting at zero. Both are node:crypto's. A Firebase export keeps the per-user salt
 * and hash apart from the project's hash config; the importer writes them as one string of
 * our own:
 *
 *   $firebase-scrypt$rounds=<rounds>,mem_cost=<mem_cost>$<signer key>$<salt separator>$<salt>$<hash>
 *
 * each value standard base64 as Firebase gives it (the separator may be empty). Bounds are
 * scrypt's (scrypt-format.ts).
 */
import { createCipheriv } from 'node:crypto';
import { decodeBase64 } from './hash-encodings.js';
import { firstRefusal, MIN_DIGEST_BYTES, sameBytes, type IdentifiedHash } from './identified-hash.js';
import { scryptCostRefusal, scryptKey, scryptKeySync, type ScryptCost } from './scrypt-format.js';

const B64 = '[A-Za-z0-9+/]*={0,2}';
const FIREBASE_SCRYPT = new RegExp(
  `^\\$firebase-scrypt\\$rounds=(\\d{1,4}),mem_cost=(\\d{1,2})\\$(${B64})\\$(${B64})\\$(${B64})\\$(${B64})$`,
);
const MAX_FIELD_BYTES = 1024;

/** The signer key encrypted under the derived key (AES-256-CTR, zero counter): what Firebase stores. */
function sealSignerKey(derivedKey: Buffer, signerKey: Buffer): Buffer {
  const cipher = createCipheriv('aes-256-ctr', derivedKey, Buffer.alloc(16));
  return Buffer.concat([cipher.update(signerKey), cipher.final()]);
}

export function identifyFirebaseScrypt(stored: string): IdentifiedHash | undefined {
  const match = FIREBASE_SCRYPT.exec(stored);
  if (!match) return undefined;
  const rounds = Number(match[1]);
  const memCost = Number(match[2]);
  const [signerKey, separator, salt, hash] = [match[3], match[4], match[5], match[6]].map((field) => decodeBase64(field ?? '', 'padded'));
  const cost: ScryptCost = { log2N: memCost, r: rounds, p: 1 };
  const scheme = 'scrypt (Firebase)';
  const parts = signerKey && separator && salt && hash ? { signerKey, salted: Buffer.concat([salt, separator]), hash } : undefined;
  return {
    kind: 'firebase-scrypt',
    scheme,
    weak: false,
    params: { rounds, memCost },
    refusal: firstRefusal(
      !parts && `${scheme} signer key, salt separator, salt or hash is not valid base64`,
      [signerKey, separator, salt].some((field) => field && field.length > MAX_FIELD_BYTES) &&
        `${scheme} signer key, salt separator or salt is longer than ${MAX_FIELD_BYTES} bytes`,
      hash !== undefined && hash.length < MIN_DIGEST_BYTES && `${scheme} hash is shorter than ${MIN_DIGEST_BYTES} bytes`,
      hash !== undefined && signerKey !== undefined && hash.length !== signerKey.length && `${scheme} hash and signer key differ in length`,
      scryptCostRefusal(scheme, cost),
    ),
    verification: {
      op: 'legacy-verify',
      sync: (password) => !!parts && sameBytes(sealSignerKey(scryptKeySync(password, parts.salted, 32, cost), parts.signerKey), parts.hash),
      async: async (password) =>
        !!parts && sameBytes(sealSignerKey(await scryptKey(password, parts.salted, 32, cost), parts.signerKey), parts.hash),
    },
  };
}
