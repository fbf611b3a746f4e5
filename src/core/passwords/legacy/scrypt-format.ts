/**
 * scrypt PHC strings as passlib writes them, `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<digest>`
 * (standard base64, unpadded), through node:crypto's scrypt. One scrypt needs 128·N·r bytes:
 * above 256 MiB (or more than 16 lanes) the hash is refused at import. The same bound and the
 * same call serve Firebase's scrypt (firebase-scrypt-format.ts).
 */
import { scrypt, scryptSync, type ScryptOptions } from 'node:crypto';
import { decodeBase64 } from './hash-encodings.js';
import { firstRefusal, MIN_DIGEST_BYTES, sameBytes, type IdentifiedHash } from './identified-hash.js';

export const SCRYPT_MAX_MEMORY_BYTES = 256 * 1024 * 1024;
export const SCRYPT_MAX_LANES = 16;
const MAX_DIGEST_BYTES = 128;

export interface ScryptCost {
  readonly log2N: number;
  readonly r: number;
  readonly p: number;
}

/** Why these scrypt parameters are refused at import, or undefined. `scheme` names it in the reason. */
export function scryptCostRefusal(scheme: string, { log2N, r, p }: ScryptCost): string | undefined {
  return firstRefusal(
    (log2N < 1 || log2N > 30 || r < 1 || p < 1) && `${scheme} parameters ln=${log2N},r=${r},p=${p} are not valid`,
    128 * 2 ** log2N * r > SCRYPT_MAX_MEMORY_BYTES &&
      `${scheme} memory 128·N·r = ${(128 * 2 ** log2N * r) / 2 ** 20} MiB is above the import bound of 256 MiB`,
    p > SCRYPT_MAX_LANES && `${scheme} parallelism p=${p} is above the import bound of ${SCRYPT_MAX_LANES}`,
  );
}

/** node:crypto's options for this cost, with the memory ceiling raised to what it needs (OpenSSL's count). */
function options({ log2N, r, p }: ScryptCost): ScryptOptions {
  const N = 2 ** log2N;
  return { N, r, p, maxmem: 128 * r * (N + p + 2) + 1024 * 1024 };
}

export function scryptKeySync(password: string | Buffer, salt: Buffer, length: number, cost: ScryptCost): Buffer {
  return scryptSync(password, salt, length, options(cost));
}

export function scryptKey(password: string | Buffer, salt: Buffer, length: number, cost: ScryptCost): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, length, options(cost), (error, key) => (error ? reject(error) : resolve(key)));
  });
}

const PASSLIB_SCRYPT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,4}),p=(\d{1,4})\$([A-Za-z0-9+/]*)\$([A-Za-z0-9+/]+)$/;

export function identifyScrypt(stored: string): IdentifiedHash | undefined {
  const match = PASSLIB_SCRYPT.exec(stored);
  if (!match) return undefined;
  const cost = { log2N: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  const salt = decodeBase64(match[4] ?? '', 'unpadded');
  const digest = decodeBase64(match[5] ?? '', 'unpadded');
  const scheme = 'scrypt (passlib)';
  return {
    kind: 'scrypt',
    scheme,
    weak: false,
    params: { ln: cost.log2N, r: cost.r, p: cost.p },
    refusal: firstRefusal(
      (salt === undefined || digest === undefined) && `${scheme} salt or digest is not valid base64`,
      digest !== undefined &&
        (digest.length < MIN_DIGEST_BYTES || digest.length > MAX_DIGEST_BYTES) &&
        `${scheme} digest must be ${MIN_DIGEST_BYTES} to ${MAX_DIGEST_BYTES} bytes`,
      scryptCostRefusal(scheme, cost),
    ),
    verification: {
      op: 'legacy-verify',
      sync: (password) => !!salt && !!digest && sameBytes(scryptKeySync(password, salt, digest.length, cost), digest),
      async: async (password) => !!salt && !!digest && sameBytes(await scryptKey(password, salt, digest.length, cost), digest),
    },
  };
}
