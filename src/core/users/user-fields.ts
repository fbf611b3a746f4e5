/**
 * Rules for the fields of a user. Usernames are NFKC-normalised and compared
 * case-insensitively, so `Alice`, `alice` and fullwidth `ａｌｉｃｅ` are one
 * account.
 */
import { ValidationError } from '../errors.js';
import { codePointLength } from '../text.js';

export const USERNAME_MIN_LENGTH = 3;
export const USERNAME_MAX_LENGTH = 64;
const USERNAME_CHARACTERS = /^[\p{L}\p{M}\p{N}._@+-]+$/u;
const EMAIL_MAX_LENGTH = 254;
// Deliberately simple (WHATWG's "valid e-mail address" shape): one @, a dotted
// domain of letters, digits and hyphens. Deliverability is not ours to judge.
const EMAIL =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$/;
const FULL_NAME_MAX_LENGTH = 200;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001F\u007F-\u009F\u2028\u2029]/;

/** Validates and normalises a username for storage; throws ValidationError. */
export function normalizeUsername(raw: string): string {
  const username = raw.normalize('NFKC');
  const length = codePointLength(username);
  if (length < USERNAME_MIN_LENGTH || length > USERNAME_MAX_LENGTH) {
    throw new ValidationError('username', `Username must be ${USERNAME_MIN_LENGTH} to ${USERNAME_MAX_LENGTH} characters long`);
  }
  if (!USERNAME_CHARACTERS.test(username)) {
    throw new ValidationError('username', 'Username may contain only letters, digits and . _ @ + -');
  }
  return username;
}

/** The key that uniqueness and look-ups use. Total: any string gets a key. */
export function usernameKey(raw: string): string {
  return raw.normalize('NFKC').toLowerCase().normalize('NFKC');
}

/** A username as given at login, or undefined when it could never name an account. */
export function loginKey(raw: string): string | undefined {
  try {
    return usernameKey(normalizeUsername(raw));
  } catch {
    return undefined;
  }
}

export function normalizeEmail(raw: string | null | undefined): string | null {
  if (raw === undefined || raw === null || raw === '') return null;
  const email = raw.trim();
  if (email.length > EMAIL_MAX_LENGTH || !EMAIL.test(email)) {
    throw new ValidationError('email', 'Invalid e-mail address');
  }
  return email;
}

/**
 * The key that e-mail look-ups and the uniqueness of verified addresses use: the address
 * lower-cased. Addresses are ASCII (normalizeEmail), so every database's lower() agrees with it.
 */
export function emailKey(email: string): string {
  return email.trim().toLowerCase();
}

export function normalizeFullName(raw: string | null | undefined): string | null {
  if (raw === undefined || raw === null) return null;
  const name = raw.normalize('NFC').trim();
  if (name === '') return null;
  if (codePointLength(name) > FULL_NAME_MAX_LENGTH) {
    throw new ValidationError('full_name', `Full name must be at most ${FULL_NAME_MAX_LENGTH} characters long`);
  }
  if (CONTROL_CHARACTERS.test(name)) throw new ValidationError('full_name', 'Full name must not contain control characters');
  return name;
}
