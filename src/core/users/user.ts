/** A stored user. `passwordHash` never leaves core except to the store. */
export interface User {
  readonly id: string;
  /** As registered, NFKC-normalised; the `sub` of its tokens. */
  readonly username: string;
  /** The case-folded form that uniqueness and look-ups use. */
  readonly usernameKey: string;
  readonly email: string | null;
  /** The user proved they receive mail at `email` (a verification link, or an operator said so); false when `email` is null. */
  readonly emailVerified: boolean;
  readonly fullName: string | null;
  readonly passwordHash: string;
  readonly disabled: boolean;
  readonly scopes: readonly string[];
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Bumped at every password change; access tokens carry it as `ver`, so older ones stop working. */
  readonly tokenVersion: number;
  /** An administrator requires a second factor of this user, whatever MFA_POLICY says (it only tightens). */
  readonly mfaRequired: boolean;
}

/** What a user may see of an account: everything but the hash and internal ids. */
export interface PublicUser {
  readonly username: string;
  readonly email: string | null;
  readonly email_verified: boolean;
  readonly full_name: string | null;
  readonly disabled: boolean;
  readonly scopes: readonly string[];
  readonly created_at: string;
  /** An administrator requires a second factor of this user (MFA_POLICY may require one anyway). */
  readonly mfa_required: boolean;
}

export function toPublicUser(user: User): PublicUser {
  return {
    username: user.username,
    email: user.email,
    email_verified: user.emailVerified,
    full_name: user.fullName,
    disabled: user.disabled,
    scopes: user.scopes,
    created_at: new Date(user.createdAt).toISOString(),
    mfa_required: user.mfaRequired,
  };
}
