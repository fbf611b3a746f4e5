/**
 * PBKDF2-HMAC (node:crypto) in the three forms sources export it:
 * - Django: `pbkdf2_sha256$<iterations>$<salt>$<base64 digest>` (and `pbkdf2_sha1$`), the salt
 *   used as its UTF-8 text;
 * - passlib: `$pbkdf2-sha256$<rounds>$<ab64 salt>$<ab64 digest>` (and `$pbkdf2-sha512$`,
 *   `$pbkdf2$` for SHA-1);
 * - Keycloak, whose credential keeps the value and salt (base64) apart from the iteration count
 *   and algorithm: the importer writes them as one string of our own,
 *   `keycloak-pbkdf2-sha256$<hashIterations>$<base64 salt>$<base64 value>` (also
 *   `keycloak-pbkdf2-sha512$`, and `keycloak-pbkdf2$` for Keycloak's SHA-1 `pbkdf2`), the
 *   derived key as long as the stored value, as Keycloak verifies it.
 * More than 2,000,000 iterations is refused at import (one login would hold a hashing thread
 * for seconds).
 */
import { pbkdf2, pbkdf2Sync } from 'node:crypto';
import { promisify } from 'node:util';
import { decodeAb64, decodeBase64 } from './hash-encodings.js';
import { firstRefusal, MIN_DIGEST_BYTES, sameBytes, type IdentifiedHash } from './identified-hash.js';

export const PBKDF2_MAX_ITERATIONS = 2_000_000;
const MAX_SALT_BYTES = 1024;
const MAX_DIGEST_BYTES = 128;

const pbkdf2Async = promisify(pbkdf2);

type Digest = 'sha1' | 'sha256' | 'sha512';
const DIGEST_BYTES: Readonly<Record<Digest, number>> = { sha1: 20, sha256: 32, sha512: 64 };

interface Pbkdf2Fields {
  readonly scheme: string;
  readonly digest: Digest;
  readonly iterations: number;
  readonly salt: Buffer | undefined;
  readonly derived: Buffer | undefined;
  /** Django and passlib write the hash function's full output; Keycloak any length it was set to. */
  readonly fullLength: boolean;
}

const DJANGO = /^pbkdf2_(sha256|sha1)\$([1-9]\d{0,9})\$([^$]*)\$([A-Za-z0-9+/=]+)$/;
const PASSLIB = /^\$pbkdf2(?:-(sha256|sha512))?\$([1-9]\d{0,9})\$([./A-Za-z0-9]*)\$([./A-Za-z0-9]+)$/;
const KEYCLOAK = /^keycloak-pbkdf2(?:-(sha256|sha512))?\$([1-9]\d{0,9})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

function parse(stored: string): Pbkdf2Fields | undefined {
  let match = DJANGO.exec(stored);
  if (match) {
    const digest = match[1] as Digest;
    return {
      scheme: `pbkdf2_${digest} (Django)`,
      digest,
      iterations: Number(match[2]),
      salt: Buffer.from(match[3] ?? '', 'utf8'),
      derived: decodeBase64(match[4] ?? '', 'padded'),
      fullLength: true,
    };
  }
  match = PASSLIB.exec(stored);
  if (match) {
    const digest = (match[1] ?? 'sha1') as Digest;
    return {
      scheme: `pbkdf2-${digest} (passlib)`,
      digest,
      iterations: Number(match[2]),
      salt: decodeAb64(match[3] ?? ''),
      derived: decodeAb64(match[4] ?? ''),
      fullLength: true,
    };
  }
  match = KEYCLOAK.exec(stored);
  if (match) {
    const digest = (match[1] ?? 'sha1') as Digest;
    return {
      scheme: `${match[1] ? `pbkdf2-${digest}` : 'pbkdf2'} (Keycloak)`,
      digest,
      iterations: Number(match[2]),
      salt: decodeBase64(match[3] ?? '', 'padded'),
      derived: decodeBase64(match[4] ?? '', 'padded'),
      fullLength: false,
    };
  }
  return undefined;
}

function refusal(fields: Pbkdf2Fields): string | undefined {
  const { scheme, salt, derived, iterations } = fields;
  return firstRefusal(
    (salt === undefined || derived === undefined) && `${scheme} salt or digest is not valid base64`,
    salt !== undefined && salt.length > MAX_SALT_BYTES && `${scheme} salt is longer than ${MAX_SALT_BYTES} bytes`,
    derived !== undefined &&
      fields.fullLength &&
      derived.length !== DIGEST_BYTES[fields.digest] &&
      `${scheme} digest is ${derived.length} bytes, not ${DIGEST_BYTES[fields.digest]}`,
    derived !== undefined &&
      (derived.length < MIN_DIGEST_BYTES || derived.length > MAX_DIGEST_BYTES) &&
      `${scheme} digest must be ${MIN_DIGEST_BYTES} to ${MAX_DIGEST_BYTES} bytes`,
    iterations > PBKDF2_MAX_ITERATIONS &&
      `${scheme} iterations ${iterations} is above the import bound of ${PBKDF2_MAX_ITERATIONS.toLocaleString('en')}`,
  );
}

export function identifyPbkdf2(stored: string): IdentifiedHash | undefined {
  const fields = parse(stored);
  if (!fields) return undefined;
  const { salt, derived, iterations, digest } = fields;
  return {
    kind: 'pbkdf2',
    scheme: fields.scheme,
    weak: false,
    params: { iterations },
    refusal: refusal(fields),
    verification: {
      op: 'legacy-verify',
      sync: (password) => !!salt && !!derived && sameBytes(pbkdf2Sync(password, salt, iterations, derived.length, digest), derived),
      async: async (password) =>
        !!salt && !!derived && sameBytes(await pbkdf2Async(password, salt, iterations, derived.length, digest), derived),
    },
  };
}
