/**
 * SHA-crypt, `$5$` (SHA-256) and `$6$` (SHA-512), as glibc's crypt(3), `openssl passwd -5/-6`
 * and passlib write it: `$5$[rounds=<n>$]<salt>$<digest>`. Implemented here, over node:crypto's
 * SHA-2, step by step from Ulrich Drepper's specification ("Unix crypt using SHA-256 and
 * SHA-512") and checked on its published vectors and on openssl's output: the npm package we
 * tried (unixcrypt 3.0.4) computes a wrong digest for passwords whose length is a multiple of
 * the digest size (32 or 64 bytes), where the spec adds one whole block of digest B.
 * Rounds below 1,000 count as 1,000 and the salt is cut at 16 bytes, as the spec says; more
 * than 1,000,000 rounds (passlib's defaults are 535,000 and 656,000) is refused at import.
 */
import { hash as digestOf } from 'node:crypto';
import { encodeCrypt64 } from './hash-encodings.js';
import { sameBytes, type IdentifiedHash } from './identified-hash.js';

export const SHA_CRYPT_MAX_ROUNDS = 1_000_000;
const DEFAULT_ROUNDS = 5000;
const MIN_ROUNDS = 1000;

type Variant = { readonly algorithm: 'sha256' | 'sha512'; readonly size: 32 | 64; readonly order: readonly number[] };

/**
 * The spec's final step writes the digest bytes in groups of three in this order; encodeCrypt64
 * writes consecutive bytes little-endian, so the digest is reordered first.
 */
const VARIANTS: Readonly<Record<'5' | '6', Variant>> = {
  '5': {
    algorithm: 'sha256',
    size: 32,
    order: [20, 10, 0, 11, 1, 21, 2, 22, 12, 23, 13, 3, 14, 4, 24, 5, 25, 15, 26, 16, 6, 17, 7, 27, 8, 28, 18, 29, 19, 9, 30, 31],
  },
  '6': {
    algorithm: 'sha512',
    size: 64,
    order: [
      42, 21, 0, 1, 43, 22, 23, 2, 44, 45, 24, 3, 4, 46, 25, 26, 5, 47, 48, 27, 6, 7, 49, 28, 29, 8, 50, 51, 30, 9, 10, 52, 31, 32, 11, 53,
      54, 33, 12, 13, 55, 34, 35, 14, 56, 57, 36, 15, 16, 58, 37, 38, 17, 59, 60, 39, 18, 19, 61, 40, 41, 20, 62, 63,
    ],
  },
};

/** `$5$` or `$6$`, optional rounds, a salt of up to 16 printable ASCII characters but `$`, and the digest. */
const SHA_CRYPT = /^\$([56])\$(?:rounds=(\d{1,9})\$)?([\x21-\x23\x25-\x7e]{0,16})\$([./0-9A-Za-z]+)$/;

/** `bytes` repeated and cut to `length` bytes (the spec's "for each block of 32 or 64 bytes ... then the remaining N bytes"). */
function repeatTo(bytes: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let offset = 0; offset < length; offset += bytes.length) bytes.copy(out, offset, 0, Math.min(bytes.length, length - offset));
  return out;
}

/** The digest part of the crypt string for this password, salt and rounds (the spec's steps 1 to 22). */
export function shaCryptDigest(variant: Variant, password: Buffer, salt: Buffer, rounds: number): string {
  const { algorithm } = variant;
  const hash = (...parts: Buffer[]): Buffer => digestOf(algorithm, Buffer.concat(parts), 'buffer');
  const b = hash(password, salt, password);
  const aParts = [password, salt, repeatTo(b, password.length)];
  for (let n = password.length; n > 0; n >>>= 1) aParts.push(n & 1 ? b : password);
  const a = hash(...aParts);
  const p = repeatTo(hash(...Array<Buffer>(password.length).fill(password)), password.length);
  const s = repeatTo(hash(...Array<Buffer>(16 + (a[0] ?? 0)).fill(salt)), salt.length);
  let c = a;
  for (let i = 0; i < rounds; i += 1) {
    const parts = [i & 1 ? p : c];
    if (i % 3 !== 0) parts.push(s);
    if (i % 7 !== 0) parts.push(p);
    parts.push(i & 1 ? c : p);
    c = hash(...parts);
  }
  const ordered = Buffer.from(variant.order.map((index) => c[index] ?? 0));
  return encodeCrypt64(ordered);
}

export function identifyShaCrypt(stored: string): IdentifiedHash | undefined {
  const match = SHA_CRYPT.exec(stored);
  if (!match) return undefined;
  const variant = VARIANTS[match[1] as '5' | '6'];
  const stated = match[2] === undefined ? DEFAULT_ROUNDS : Number(match[2]);
  const rounds = Math.max(MIN_ROUNDS, stated);
  const salt = Buffer.from(match[3] ?? '', 'latin1');
  const digest = Buffer.from(match[4] ?? '', 'latin1');
  const digestLength = variant.size === 32 ? 43 : 86;
  const scheme = `sha${variant.size === 32 ? 256 : 512}-crypt $${match[1]}$`;
  const verify = (password: string): boolean =>
    digest.length === digestLength &&
    sameBytes(Buffer.from(shaCryptDigest(variant, Buffer.from(password, 'utf8'), salt, rounds), 'latin1'), digest);
  return {
    kind: 'sha-crypt',
    scheme,
    weak: false,
    params: { rounds },
    refusal:
      digest.length !== digestLength
        ? `${scheme} digest is ${digest.length} characters, not ${digestLength}`
        : rounds > SHA_CRYPT_MAX_ROUNDS
          ? `${scheme} rounds ${rounds} is above the import bound of ${SHA_CRYPT_MAX_ROUNDS.toLocaleString('en')}`
          : undefined,
    // SHA-crypt has no asynchronous form in node:crypto: without hashing threads it runs here.
    verification: { op: 'legacy-verify', sync: verify, async: (password) => Promise.resolve(verify(password)) },
  };
}
