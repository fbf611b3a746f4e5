/**
 * argon2i and argon2id PHC strings written by other systems (passlib, argon2-cffi, PHP,
 * Keycloak 24+), with their own parameters, verified by @node-rs/argon2 on the hashing
 * threads (it reads the variant, version and parameters from the string). Version 1.3
 * (`v=19`) and 1.0 (no `v=` field, or `v=16`) are read. Memory above 256 MiB, more than 16
 * passes or lanes are refused at import: one login would hold that much on a hashing thread.
 */
import { decodeBase64 } from './hash-encodings.js';
import { firstRefusal, MIN_DIGEST_BYTES, type IdentifiedHash } from './identified-hash.js';

export const ARGON2_MAX_MEMORY_KIB = 256 * 1024;
export const ARGON2_MAX_PASSES = 16;
export const ARGON2_MAX_LANES = 16;

const ARGON2_PHC = /^\$(argon2i|argon2id)\$(?:v=(16|19)\$)?m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,3})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

export function identifyArgon2(stored: string): IdentifiedHash | undefined {
  const match = ARGON2_PHC.exec(stored);
  if (!match) return undefined;
  const [, name, version, m, t, p, saltText = '', digestText = ''] = match;
  const variant = name === 'argon2i' ? 'argon2i' : 'argon2id';
  const memoryKiB = Number(m);
  const passes = Number(t);
  const lanes = Number(p);
  const salt = decodeBase64(saltText, 'unpadded');
  const digest = decodeBase64(digestText, 'unpadded');
  return {
    kind: variant,
    scheme: `${variant} v=${version ?? '16'}`,
    weak: false,
    params: { memoryKiB, passes, lanes },
    refusal: firstRefusal(
      (salt === undefined || digest === undefined) && `${variant} salt or digest is not valid base64`,
      salt !== undefined && salt.length < 8 && `${variant} salt is shorter than 8 bytes`,
      digest !== undefined && digest.length < MIN_DIGEST_BYTES && `${variant} digest is shorter than ${MIN_DIGEST_BYTES} bytes`,
      (passes < 1 || lanes < 1 || memoryKiB < 8 * lanes) && `${variant} parameters m=${memoryKiB},t=${passes},p=${lanes} are not valid`,
      memoryKiB > ARGON2_MAX_MEMORY_KIB &&
        `${variant} memory ${memoryKiB} KiB is above the import bound of ${ARGON2_MAX_MEMORY_KIB} KiB (256 MiB)`,
      passes > ARGON2_MAX_PASSES && `${variant} passes t=${passes} is above the import bound of ${ARGON2_MAX_PASSES}`,
      lanes > ARGON2_MAX_LANES && `${variant} lanes p=${lanes} is above the import bound of ${ARGON2_MAX_LANES}`,
    ),
    verification: { op: 'argon2-verify' },
  };
}
