/**
 * The account a mail request names (issue 14): a password reset, a new verification link, a
 * sign-in link are asked for by `username` or by `email`. A username is read as a login reads it;
 * an address finds the account that verified it, or else the one account that has it unverified
 * (an address several accounts share unverified names none of them).
 */
import { InvalidRequestError } from '../errors.js';
import type { UserStore } from '../ports.js';
import type { User } from './user.js';
import { emailKey, loginKey } from './user-fields.js';

/** Exactly one of the two. */
export interface AccountReference {
  readonly email?: string | undefined;
  readonly username?: string | undefined;
}

/** InvalidRequestError unless exactly one of email and username is given. */
export function checkAccountReference(who: AccountReference): void {
  if ((who.email === undefined) === (who.username === undefined)) {
    throw new InvalidRequestError('Give exactly one of email and username');
  }
}

export async function findAccount(users: UserStore, who: AccountReference): Promise<User | undefined> {
  if (who.username !== undefined) {
    // As a login reads it: a name that could never be an account's is no account.
    const key = loginKey(who.username);
    return key === undefined ? undefined : users.findByKey(key);
  }
  const email = (who.email ?? '').trim();
  if (email === '') return undefined;
  const verified = await users.findByVerifiedEmail(emailKey(email));
  if (verified) return verified;
  const found = await users.findByEmail(email, 2);
  return found.length === 1 ? found[0] : undefined;
}
