/**
 * Salted SHA-1 and SHA-256: one unstretched hash of the salt and password, as many home-grown
 * user tables keep them. Weak (billions of guesses a second on a GPU), so imported only when
 * the operator passes allowWeak (`--allow-weak`), and upgraded at the first login like the
 * rest. Sources write them every which way (hex or base64, salt before or after); the
 * importer writes them as one string of our own, the order spelt out:
 *
 *   $salted-sha1$salt-first$<base64 salt>$<base64 digest>     SHA-1(salt ‖ password)
 *   $salted-sha256$salt-last$<base64 salt>$<base64 digest>    SHA-256(password ‖ salt)
 */
import { createHash } from 'node:crypto';
import { decodeBase64 } from './hash-encodings.js';
import { firstRefusal, sameBytes, type IdentifiedHash } from './identified-hash.js';

const SALTED_SHA = /^\$salted-(sha1|sha256)\$(salt-first|salt-last)\$([A-Za-z0-9+/]*={0,2})\$([A-Za-z0-9+/]+={0,2})$/;
const DIGEST_BYTES = { sha1: 20, sha256: 32 } as const;
const MAX_SALT_BYTES = 1024;

export function identifySaltedSha(stored: string): IdentifiedHash | undefined {
  const match = SALTED_SHA.exec(stored);
  if (!match) return undefined;
  const algorithm = match[1] === 'sha1' ? 'sha1' : 'sha256';
  const saltFirst = match[2] === 'salt-first';
  const salt = decodeBase64(match[3] ?? '', 'padded');
  const digest = decodeBase64(match[4] ?? '', 'padded');
  const scheme = `salted ${algorithm === 'sha1' ? 'SHA-1' : 'SHA-256'} (${match[2]})`;
  const verify = (password: string): boolean => {
    if (!salt || !digest) return false;
    const secret = Buffer.from(password, 'utf8');
    const computed = createHash(algorithm)
      .update(saltFirst ? salt : secret)
      .update(saltFirst ? secret : salt)
      .digest();
    return sameBytes(computed, digest);
  };
  return {
    kind: 'salted-sha',
    scheme,
    weak: true,
    params: {},
    refusal: firstRefusal(
      (salt === undefined || digest === undefined) && `${scheme} salt or digest is not valid base64`,
      salt !== undefined && salt.length === 0 && `${scheme} has an empty salt (unsalted hashes are not taken)`,
      salt !== undefined && salt.length > MAX_SALT_BYTES && `${scheme} salt is longer than ${MAX_SALT_BYTES} bytes`,
      digest !== undefined &&
        digest.length !== DIGEST_BYTES[algorithm] &&
        `${scheme} digest is ${digest.length} bytes, not ${DIGEST_BYTES[algorithm]}`,
    ),
    verification: { op: 'legacy-verify', sync: verify, async: (password) => Promise.resolve(verify(password)) },
  };
}
