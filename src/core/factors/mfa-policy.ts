/**
 * Who must log in with a second factor (issue 15, ADR 0024 "Policy"): the deployment's MFA_POLICY
 * (nobody, the holders of the `admin` scope, or everyone) and, on top of it, the per-user flag an
 * administrator sets. The flag only tightens: the deployment setting is the only loosening control.
 * The policy is applied where the first step of a login decides `mfa_required` (token-service.ts);
 * sessions opened before keep working until they end (an administrator can revoke them).
 */
import { ADMIN_SCOPE } from '../tokens/scopes.js';
import type { User } from '../users/user.js';

/** MFA_POLICY's values: `optional` (each user chooses), `admins` (holders of the `admin` scope), `all`. */
export const MFA_POLICIES = ['optional', 'admins', 'all'] as const;
export type MfaPolicy = (typeof MFA_POLICIES)[number];

/** Whether the user must have a second factor: by the deployment's policy or by their own flag. The scopes are those the user holds now. */
export function mfaRequiredFor(policy: MfaPolicy, user: Pick<User, 'mfaRequired' | 'scopes'>): boolean {
  if (user.mfaRequired) return true;
  switch (policy) {
    case 'all':
      return true;
    case 'admins':
      return user.scopes.includes(ADMIN_SCOPE);
    case 'optional':
      return false;
  }
}
