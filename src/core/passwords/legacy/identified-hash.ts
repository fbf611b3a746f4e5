/**
 * What the registry (hash-formats.ts) learns of a stored password hash: its kind, the scheme
 * it was written by, whether it is weak, why an import would refuse it, and how to check a
 * password against it. Each family module (bcrypt-format.ts, pbkdf2-format.ts, ...) turns a
 * string it recognises into one of these, so the registry never knows a family's fields.
 */
import { timingSafeEqual } from 'node:crypto';

/** Every kind of hash a user row may hold: argon2id is written; the others are imported and upgraded. */
export type HashKind =
  'argon2id' | 'argon2i' | 'bcrypt' | 'wordpress-bcrypt' | 'pbkdf2' | 'scrypt' | 'firebase-scrypt' | 'sha-crypt' | 'phpass' | 'salted-sha';

/**
 * How a password is checked against the hash. bcrypt and argon2 go through the native
 * libraries' operations on the hashing threads; the others are computed with node:crypto, on a
 * hashing thread through `sync`, or through `async` where the server has no hashing threads.
 */
export type HashVerification =
  | { readonly op: 'argon2-verify' }
  | {
      readonly op: 'bcrypt-verify';
      /** The bcrypt string and the input it was made from: the stored string and the password, or a pre-hash of it (WordPress 6.8's `$wp$`). */
      readonly input: (password: string) => { readonly hash: string; readonly password: string };
    }
  | {
      readonly op: 'legacy-verify';
      readonly sync: (password: string) => boolean;
      readonly async: (password: string) => Promise<boolean>;
    };

export interface IdentifiedHash {
  readonly kind: HashKind;
  /** The scheme as the source system names it, e.g. `pbkdf2-sha256 (Django)`: for messages and reports. */
  readonly scheme: string;
  /** A weak hash (fast, unstretched) is imported only when the operator allows it. */
  readonly weak: boolean;
  /** The cost parameters read from the string (never salts or digests). */
  readonly params: Readonly<Record<string, number>>;
  /** Why an import refuses this hash (parameters out of bounds), or undefined when it is importable. */
  readonly refusal: string | undefined;
  readonly verification: HashVerification;
}

/**
 * Below this many bytes a stored digest is refused: a truncated digest would let a wrong
 * password match with a probability of 2^-8 per missing byte.
 */
export const MIN_DIGEST_BYTES = 16;

/** Constant-time equality of two byte strings; different lengths are unequal (and say only that). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The first reason in the list, or undefined when every check passed (each check is a reason or undefined). */
export function firstRefusal(...reasons: ReadonlyArray<string | false | undefined>): string | undefined {
  for (const reason of reasons) if (typeof reason === 'string') return reason;
  return undefined;
}
