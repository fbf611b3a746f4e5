/**
 * phpass portable hashes, `$P$` (WordPress, phpass) and `$H$` (phpBB3): the cost character
 * (log2 of the iteration count), 8 salt characters, and 22 characters of digest, where the
 * digest is MD5(salt ‖ password) hashed again with the password 2^cost times. The npm ports
 * are unmaintained, so it is implemented here over node:crypto's MD5 from the phpass source's
 * crypt_private and checked on passlib's and John the Ripper's vectors and on hashes made by
 * PHP. Costs above 2^18 iterations (WordPress writes 2^13) are refused at import.
 */
import { hash as digestOf } from 'node:crypto';
import { crypt64Index, encodeCrypt64 } from './hash-encodings.js';
import { sameBytes, type IdentifiedHash } from './identified-hash.js';

export const PHPASS_MAX_LOG2_ITERATIONS = 18;
const PHPASS_MIN_LOG2_ITERATIONS = 7;

const PHPASS = /^\$([PH])\$([./0-9A-Za-z])([./0-9A-Za-z]{8})([./0-9A-Za-z]{22})$/;

/** The 22-character digest for this password, salt and cost (phpass's crypt_private). */
export function phpassDigest(password: Buffer, salt: Buffer, log2Iterations: number): string {
  let hash = digestOf('md5', Buffer.concat([salt, password]), 'buffer');
  // hash ‖ password, the hash part rewritten in place each time (half the time of a createHash per round).
  const input = Buffer.concat([hash, password]);
  for (let i = 2 ** log2Iterations; i > 0; i -= 1) {
    hash.copy(input, 0);
    hash = digestOf('md5', input, 'buffer');
  }
  return encodeCrypt64(hash);
}

export function identifyPhpass(stored: string): IdentifiedHash | undefined {
  const match = PHPASS.exec(stored);
  if (!match) return undefined;
  const log2Iterations = crypt64Index(match[2] ?? '');
  const salt = Buffer.from(match[3] ?? '', 'latin1');
  const digest = Buffer.from(match[4] ?? '', 'latin1');
  const scheme = `phpass $${match[1]}$`;
  const verify = (password: string): boolean =>
    sameBytes(Buffer.from(phpassDigest(Buffer.from(password, 'utf8'), salt, log2Iterations), 'latin1'), digest);
  return {
    kind: 'phpass',
    scheme,
    weak: false,
    params: { log2Iterations },
    refusal:
      log2Iterations < PHPASS_MIN_LOG2_ITERATIONS || log2Iterations > 30
        ? `${scheme} cost 2^${log2Iterations} is not a valid phpass cost`
        : log2Iterations > PHPASS_MAX_LOG2_ITERATIONS
          ? `${scheme} cost 2^${log2Iterations} is above the import bound of 2^${PHPASS_MAX_LOG2_ITERATIONS}`
          : undefined,
    // MD5 has no asynchronous form in node:crypto: without hashing threads it runs here.
    verification: { op: 'legacy-verify', sync: verify, async: (password) => Promise.resolve(verify(password)) },
  };
}
