/**
 * What a route can demand of the login behind a token (RFC 9470 step-up): a second factor, or a
 * login no older than some seconds. Not met: InsufficientUserAuthenticationError, which the HTTP
 * layer answers 401 with `WWW-Authenticate: Bearer error="insufficient_user_authentication"`.
 */
import { InsufficientUserAuthenticationError } from '../errors.js';
import type { AccessTokenClaims } from '../tokens/access-token.js';
import { ACR_MFA } from './factor.js';

export interface LoginRequirement {
  /** A login completed with a second factor (`acr` is urn:portcullis:acr:mfa). */
  readonly mfa?: boolean;
  /** A login at most this many seconds old (`auth_time`). */
  readonly maxAgeSeconds?: number;
}

/** Throws unless the token's login meets the requirement; a token without the claims (before 0008, a client's) meets neither. */
export function requireLogin(claims: Pick<AccessTokenClaims, 'acr' | 'auth_time'>, required: LoginRequirement, nowMs: number): void {
  const { mfa, maxAgeSeconds } = required;
  if (mfa === true && claims.acr !== ACR_MFA) {
    throw new InsufficientUserAuthenticationError('A login with a second factor is required', maxAgeSeconds, [ACR_MFA]);
  }
  if (maxAgeSeconds !== undefined && (claims.auth_time === undefined || nowMs / 1000 - claims.auth_time > maxAgeSeconds)) {
    throw new InsufficientUserAuthenticationError('A more recent login is required', maxAgeSeconds, mfa === true ? [ACR_MFA] : undefined);
  }
}
