/**
 * The registry of stored password-hash formats: which format a string is (identifyHash),
 * whether an import takes it (checkImportableHash), and the check of a password against the
 * formats computed with node:crypto (verifyLegacyHashSync on a hashing thread,
 * verifyLegacyHash without one). One module per family beside this one; argon2id is the
 * format Portcullis writes, every other one is imported and upgraded at the first login
 * (ADR 0026). Kept free of native modules: a hashing thread loads it.
 */
import { identifyArgon2 } from './argon2-format.js';
import { identifyBcrypt } from './bcrypt-format.js';
import { identifyFirebaseScrypt } from './firebase-scrypt-format.js';
import type { IdentifiedHash } from './identified-hash.js';
import { identifyPbkdf2 } from './pbkdf2-format.js';
import { identifyPhpass } from './phpass-format.js';
import { identifySaltedSha } from './salted-sha-format.js';
import { identifyScrypt } from './scrypt-format.js';
import { identifyShaCrypt } from './sha-crypt-format.js';
import { identifyWordpressBcrypt } from './wordpress-bcrypt-format.js';

export type { HashKind, IdentifiedHash } from './identified-hash.js';

const FAMILIES: ReadonlyArray<(stored: string) => IdentifiedHash | undefined> = [
  identifyBcrypt,
  identifyWordpressBcrypt,
  identifyArgon2,
  identifyPbkdf2,
  identifyScrypt,
  identifyFirebaseScrypt,
  identifyShaCrypt,
  identifyPhpass,
  identifySaltedSha,
];

/** Prefixes of the formats read here, for a reason that says "malformed" rather than "unknown". */
const KNOWN_PREFIXES: ReadonlyArray<readonly [string, string]> = [
  ['$2', 'bcrypt'],
  ['$wp$', 'WordPress bcrypt'],
  ['$argon2', 'argon2'],
  ['pbkdf2_', 'Django PBKDF2'],
  ['$pbkdf2', 'passlib PBKDF2'],
  ['keycloak-pbkdf2', 'Keycloak PBKDF2'],
  ['$scrypt$', 'scrypt'],
  ['$firebase-scrypt$', 'Firebase scrypt'],
  ['$5$', 'SHA-256-crypt'],
  ['$6$', 'SHA-512-crypt'],
  ['$P$', 'phpass'],
  ['$H$', 'phpass'],
  ['$salted-', 'salted SHA'],
];

/** The format of a stored hash, or undefined when it is none of the formats read here. */
export function identifyHash(stored: string): IdentifiedHash | undefined {
  for (const identify of FAMILIES) {
    const identified = identify(stored);
    if (identified) return identified;
  }
  return undefined;
}

export interface ImportableHashOptions {
  /** Take weak (unstretched) hashes: salted SHA-1/SHA-256. The importer warns when it does. */
  readonly allowWeak?: boolean;
  /** The hash's field as the source names it, for the reason (default `hashed_password`). */
  readonly field?: string;
}

export type ImportableHash =
  | { readonly ok: true; readonly hash: IdentifiedHash }
  | { readonly ok: false; readonly reason: string; readonly hash: IdentifiedHash | undefined };

export const SUPPORTED_FORMATS =
  'bcrypt, argon2i/argon2id, PBKDF2 (Django, passlib, Keycloak), scrypt (passlib, Firebase), SHA-crypt $5$/$6$, phpass $P$/$H$, WordPress 6.8+ $wp$ bcrypt, salted SHA (with --allow-weak)';

/** Whether an import takes this hash, and if not, a reason fit for the operator (it never quotes the hash). */
export function checkImportableHash(stored: string, options: ImportableHashOptions = {}): ImportableHash {
  const hash = identifyHash(stored);
  if (!hash) {
    const known = KNOWN_PREFIXES.find(([prefix]) => stored.startsWith(prefix));
    const field = options.field ?? 'hashed_password';
    const reason = known
      ? `${field} looks like a ${known[1]} hash but is malformed`
      : `${field} is not a supported hash format (${SUPPORTED_FORMATS})`;
    return { ok: false, reason, hash: undefined };
  }
  if (hash.refusal !== undefined) return { ok: false, reason: hash.refusal, hash };
  if (hash.weak && options.allowWeak !== true) {
    return { ok: false, reason: `${hash.scheme} is a weak hash: pass --allow-weak to import it`, hash };
  }
  return { ok: true, hash };
}

/**
 * Checks a password against a stored hash of a node:crypto format, synchronously: the hashing
 * threads' operation. Anything else (an unknown string, bcrypt, argon2, or a hash an import
 * would refuse, which only a hand-written row can hold) is a mismatch.
 */
export function verifyLegacyHashSync(stored: string, password: string): boolean {
  const hash = identifyHash(stored);
  if (!hash || hash.refusal !== undefined || hash.verification.op !== 'legacy-verify') return false;
  return hash.verification.sync(password);
}

/** The same, off a hashing thread: PBKDF2 and scrypt on libuv's pool; SHA-crypt, phpass and salted SHA here. */
export async function verifyLegacyHash(stored: string, password: string): Promise<boolean> {
  const hash = identifyHash(stored);
  if (!hash || hash.refusal !== undefined || hash.verification.op !== 'legacy-verify') return false;
  return hash.verification.async(password);
}
