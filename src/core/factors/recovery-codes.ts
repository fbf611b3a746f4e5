/**
 * Recovery codes: ten single-use codes of 80 random bits each, shown once. Only their SHA-256 is
 * stored: a code is random and long, so a fast hash cannot be reversed by guessing (unlike a
 * password, which needs a slow hash); the mail tokens are stored the same way.
 */
import { randomBytes } from 'node:crypto';
import { hashSecret } from '../secrets.js';

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** `xxxx-xxxx-xxxx-xxxx`, base32 lower case (RFC 4648 alphabet): 80 bits. */
export function newRecoveryCode(): string {
  const bytes = randomBytes(10);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join('-');
}

/** The code as typed, without case, spaces or dashes; undefined when it cannot be one. */
export function normalizeRecoveryCode(typed: string): string | undefined {
  const code = typed.toLowerCase().replace(/[\s-]/g, '');
  return /^[a-z2-7]{16}$/.test(code) ? code : undefined;
}

/** What the store keeps of a code. */
export function recoveryCodeHash(normalized: string): string {
  return hashSecret(`recovery-code:${normalized}`);
}
