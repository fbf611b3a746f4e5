/**
 * Password policy after NIST SP 800-63B-4 and OWASP ASVS 5: a minimum length
 * (a setting, 8 by default), at most 1024 characters, no composition rules,
 * NFKC-normalised, and refused when it is a common password (the 49k-entry
 * list that zxcvbn-ts maintains) or the username itself.
 */
import { MAX_PASSWORD_LENGTH } from '../config.js';
import { ValidationError } from '../errors.js';
import { codePointLength } from '../text.js';

export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

let commonPasswords: Promise<ReadonlySet<string>> | undefined;

/** Loaded on first use: the list costs ~20 ms to load, which startup need not pay. */
export function loadCommonPasswords(): Promise<ReadonlySet<string>> {
  commonPasswords ??= import('@zxcvbn-ts/language-common').then((module) => new Set(module.dictionary['passwords-common'] as string[]));
  return commonPasswords;
}

export interface PasswordPolicy {
  readonly minLength: number;
}

/** Throws ValidationError (field `password`) when the password may not be used. */
export async function checkPasswordPolicy(
  password: string,
  policy: PasswordPolicy,
  context: { readonly username?: string } = {},
): Promise<void> {
  if (password.includes('\u0000')) throw new ValidationError('password', 'Password must not contain NUL characters');
  const normalized = normalizePassword(password);
  const length = codePointLength(normalized);
  if (length < policy.minLength) {
    throw new ValidationError('password', `Password must be at least ${policy.minLength} characters long`);
  }
  if (length > MAX_PASSWORD_LENGTH) {
    throw new ValidationError('password', `Password must be at most ${MAX_PASSWORD_LENGTH} characters long`);
  }
  const lower = normalized.toLowerCase();
  if (context.username !== undefined && lower === context.username.normalize('NFKC').toLowerCase()) {
    throw new ValidationError('password', 'Password must not be the username');
  }
  if ((await loadCommonPasswords()).has(lower)) {
    throw new ValidationError('password', 'Password is too common; choose a less guessable one');
  }
}
