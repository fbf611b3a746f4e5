/**
 * bcrypt, `$2a$`, `$2b$` and `$2y$` (passlib, PHP's password_hash, Django's BCryptPasswordHasher
 * after its `bcrypt$` prefix is cut), verified by @node-rs/bcrypt on the hashing threads. A
 * cost above 16 (65,536 rounds of the key schedule, seconds per login) is refused at import.
 */
import type { IdentifiedHash } from './identified-hash.js';

export const BCRYPT_MAX_COST = 16;

const BCRYPT_HASH = /^\$2([aby])\$(\d{2})\$[./A-Za-z0-9]{53}$/;

export function identifyBcrypt(stored: string): IdentifiedHash | undefined {
  const match = BCRYPT_HASH.exec(stored);
  if (!match) return undefined;
  const cost = Number(match[2]);
  return {
    kind: 'bcrypt',
    scheme: `bcrypt $2${match[1]}$`,
    weak: false,
    params: { cost },
    refusal:
      cost < 4 || cost > 31
        ? `bcrypt cost ${cost} is not a valid cost (4 to 31)`
        : cost > BCRYPT_MAX_COST
          ? `bcrypt cost ${cost} is above the import bound of ${BCRYPT_MAX_COST}`
          : undefined,
    verification: { op: 'bcrypt-verify', input: (password) => ({ hash: stored, password }) },
  };
}
