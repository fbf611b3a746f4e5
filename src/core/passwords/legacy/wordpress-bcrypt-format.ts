/**
 * WordPress 6.8+'s `$wp$2y$…`: bcrypt over a pre-hash of the password, as wp-includes/pluggable.php
 * writes and checks it: `'$wp' . password_hash(base64_encode(hash_hmac('sha384', $password,
 * 'wp-sha384', true)), PASSWORD_BCRYPT)`, checked with `password_verify(<that pre-hash>,
 * substr($hash, 3))`. The pre-hash keeps the entropy of passwords longer than bcrypt's 72 bytes;
 * the bcrypt part is verified by @node-rs/bcrypt on the hashing threads like any other, with the
 * same cost bound. (wp_hash_password trims the password before hashing; wp_check_password does
 * not, and neither does this: a password with surrounding spaces fails here as it fails there.)
 */
import { createHmac } from 'node:crypto';
import { identifyBcrypt } from './bcrypt-format.js';
import type { IdentifiedHash } from './identified-hash.js';

const PREFIX = '$wp';

/** The bcrypt input WordPress makes of a password: base64 of HMAC-SHA384 keyed with `wp-sha384`. */
export function wordpressPrehash(password: string): string {
  return createHmac('sha384', 'wp-sha384').update(password, 'utf8').digest('base64');
}

export function identifyWordpressBcrypt(stored: string): IdentifiedHash | undefined {
  if (!stored.startsWith(`${PREFIX}$2`)) return undefined;
  const inner = stored.slice(PREFIX.length);
  const bcrypt = identifyBcrypt(inner);
  if (!bcrypt) return undefined;
  return {
    ...bcrypt,
    kind: 'wordpress-bcrypt',
    scheme: `WordPress 6.8+ bcrypt ${bcrypt.scheme.slice('bcrypt '.length)} (HMAC-SHA384 pre-hash)`,
    verification: { op: 'bcrypt-verify', input: (password) => ({ hash: inner, password: wordpressPrehash(password) }) },
  };
}
