/**
 * The byte encodings legacy hash strings use, read strictly (a string that is not exactly
 * what its writer would produce is malformed, not guessed at):
 * - standard base64, with or without padding (Django, Keycloak, Firebase, PHC strings);
 * - passlib's "adapted base64" (ab64): standard base64 with `.` for `+`, unpadded;
 * - the crypt(3) alphabet `./0-9A-Za-z` little-endian groups of SHA-crypt and phpass (encode
 *   only: those schemes are checked by recomputing the encoded string).
 */

const BASE64 = /^[A-Za-z0-9+/]*$/;
const CRYPT64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Standard base64: `padded` says whether `=` padding is required (true) or forbidden (false). */
export function decodeBase64(text: string, padding: 'padded' | 'unpadded'): Buffer | undefined {
  const body = padding === 'padded' ? text.replace(/={1,2}$/, '') : text;
  if (!BASE64.test(body) || body.length % 4 === 1) return undefined;
  if (padding === 'padded' && text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(body, 'base64');
  // Reject non-canonical trailing bits: the bytes must encode back to the same characters.
  return bytes.toString('base64').replace(/=+$/, '') === body ? bytes : undefined;
}

/** passlib's ab64: base64 with `.` in place of `+`, no padding. */
export function decodeAb64(text: string): Buffer | undefined {
  if (text.includes('+')) return undefined;
  return decodeBase64(text.replaceAll('.', '+'), 'unpadded');
}

/**
 * The crypt(3) encoding: each group of three bytes b0 b1 b2 as the 24-bit number
 * b0 | b1 << 8 | b2 << 16, written six bits at a time from the lowest; a last group of n bytes
 * gives n + 1 characters. SHA-crypt reorders its digest into groups first (sha-crypt-format.ts).
 */
export function encodeCrypt64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = Math.min(3, bytes.length - i);
    let value = 0;
    for (let j = 0; j < n; j += 1) value |= (bytes[i + j] ?? 0) << (8 * j);
    for (let k = 0; k <= n; k += 1) {
      out += CRYPT64[value & 0x3f];
      value >>>= 6;
    }
  }
  return out;
}

/** The position of a character in the crypt(3) alphabet (phpass's cost character), or -1. */
export function crypt64Index(char: string): number {
  return char.length === 1 ? CRYPT64.indexOf(char) : -1;
}
