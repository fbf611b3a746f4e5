/**
 * OpenID Connect's standard claims about a user (Core §5.1), by the scopes that ask for them
 * (§5.4): `profile` gives the name and username, `email` the address and whether it is verified.
 * The same claims go into the ID token and come from /userinfo. `sub` is the user's id, which is
 * never reassigned (Core §2 requires it; a username can be freed and taken again).
 */
import type { User } from '../users/user.js';

export interface IdentityClaims {
  readonly sub: string;
  readonly preferred_username?: string;
  readonly name?: string;
  readonly updated_at?: number;
  readonly email?: string;
  readonly email_verified?: boolean;
}

/** The claims OpenID Connect clients may see; discovery's `claims_supported` (with the ID token's own). */
export const IDENTITY_CLAIMS: readonly string[] = Object.freeze([
  'sub',
  'preferred_username',
  'name',
  'updated_at',
  'email',
  'email_verified',
]);

export function identityClaims(user: User, scopes: readonly string[]): IdentityClaims {
  return {
    sub: user.id,
    ...(scopes.includes('profile')
      ? {
          preferred_username: user.username,
          ...(user.fullName === null ? {} : { name: user.fullName }),
          updated_at: Math.floor(user.updatedAt / 1000),
        }
      : {}),
    ...(scopes.includes('email') && user.email !== null ? { email: user.email, email_verified: user.emailVerified } : {}),
  };
}
