/**
 * The verified token as typed claims. jose has checked the signature, `iss`,
 * `aud`, `typ`, the times and that the required claims exist; this checks
 * their types, so that `sub` is a string and not whatever the token said.
 */
import type { JWTPayload } from 'jose';
import { InsufficientScopeError, InsufficientUserAuthenticationError, InvalidTokenError } from './errors.js';

export interface VerifiedToken {
  /** The subject: a username, or a service client's id on client-credentials tokens. */
  readonly sub: string;
  /** The granted scopes (the `scope` claim split on spaces). */
  readonly scope: readonly string[];
  readonly iss: string;
  readonly aud?: string | readonly string[];
  readonly exp: number;
  readonly iat: number;
  readonly nbf?: number;
  readonly jti: string;
  /** The session (login) the token belongs to; absent on client-credentials tokens. */
  readonly sid?: string;
  /** The OAuth client the token was issued to (`client_id`, RFC 9068 §2.2). */
  readonly clientId?: string;
  /** The user's e-mail address when the token was issued (`email`, OpenID Connect), when it has one. */
  readonly email?: string;
  /** Whether that address was verified when the token was issued (`email_verified`); absent with `email`. */
  readonly emailVerified?: boolean;
  /** How the login was proved (`amr`, RFC 8176): `pwd`, `otp` (a one-time code), `hwk` (a WebAuthn authenticator), `mfa` (a passkey that verified its user), `link` (a mailed sign-in link). */
  readonly amr?: readonly string[];
  /** The login's strength (`acr`): `urn:portcullis:acr:pwd` or `urn:portcullis:acr:mfa`. */
  readonly acr?: string;
  /** When the user last proved who they are (`auth_time`, seconds since the epoch). */
  readonly authTime?: number;
  /** Every claim as received. */
  readonly raw: JWTPayload;
}

/** The `acr` of a login completed with a second factor. */
export const ACR_MFA = 'urn:portcullis:acr:mfa';

/** What a resource needs of the login behind a token (RFC 9470). */
export interface AuthenticationRequirement {
  /** A login completed with a second factor (`acr` is ACR_MFA). */
  readonly mfa?: boolean;
  /** A login at most this many seconds old (`auth_time`). */
  readonly maxAgeSeconds?: number;
}

function optionalString(payload: JWTPayload, name: string): string | undefined {
  const value = payload[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new InvalidTokenError(`claim ${name} is not a string`);
  return value;
}

function requiredString(payload: JWTPayload, name: string): string {
  const value = optionalString(payload, name);
  if (value === undefined || value === '') throw new InvalidTokenError(`claim ${name} is missing or empty`);
  return value;
}

export function parseScope(scope: string): string[] {
  return scope.split(' ').filter((item) => item !== '');
}

export function toVerifiedToken(payload: JWTPayload): VerifiedToken {
  const scope = optionalString(payload, 'scope');
  if (scope === undefined) throw new InvalidTokenError('claim scope is missing');
  if (typeof payload.exp !== 'number' || typeof payload.iat !== 'number') {
    throw new InvalidTokenError('claims exp and iat must be numbers');
  }
  const aud = payload.aud;
  const sid = optionalString(payload, 'sid');
  const clientId = optionalString(payload, 'client_id');
  const email = optionalString(payload, 'email');
  const emailVerified = payload.email_verified;
  if (emailVerified !== undefined && typeof emailVerified !== 'boolean')
    throw new InvalidTokenError('claim email_verified is not a boolean');
  const amr = payload.amr;
  if (amr !== undefined && !(Array.isArray(amr) && amr.every((value) => typeof value === 'string'))) {
    throw new InvalidTokenError('claim amr is not an array of strings');
  }
  const acr = optionalString(payload, 'acr');
  const authTime = payload.auth_time;
  if (authTime !== undefined && typeof authTime !== 'number') throw new InvalidTokenError('claim auth_time is not a number');
  return Object.freeze({
    sub: requiredString(payload, 'sub'),
    scope: Object.freeze(parseScope(scope)),
    iss: requiredString(payload, 'iss'),
    ...(aud === undefined ? {} : { aud: Array.isArray(aud) ? Object.freeze([...aud]) : aud }),
    exp: payload.exp,
    iat: payload.iat,
    ...(payload.nbf === undefined ? {} : { nbf: payload.nbf }),
    jti: requiredString(payload, 'jti'),
    ...(sid === undefined ? {} : { sid }),
    ...(clientId === undefined ? {} : { clientId }),
    ...(email === undefined ? {} : { email }),
    ...(typeof emailVerified === 'boolean' ? { emailVerified } : {}),
    ...(Array.isArray(amr) ? { amr: Object.freeze([...(amr as string[])]) } : {}),
    ...(acr === undefined ? {} : { acr }),
    ...(typeof authTime === 'number' ? { authTime } : {}),
    raw: payload,
  });
}

/** Throws InsufficientScopeError unless `token` holds every one of `required`. */
export function assertScopes(token: Pick<VerifiedToken, 'scope'>, required: readonly string[]): void {
  if (required.length === 0) return;
  const granted = new Set(token.scope);
  if (!required.every((scope) => granted.has(scope))) throw new InsufficientScopeError(required);
}

/**
 * Throws InsufficientUserAuthenticationError (RFC 9470) unless the token's login meets `required`:
 * a second factor (`acr`), a login no older than `maxAgeSeconds` at `nowMs` (`auth_time`). A token
 * without the claims (a service client's) meets neither.
 */
export function assertAuthentication(
  token: Pick<VerifiedToken, 'acr' | 'authTime'>,
  required: AuthenticationRequirement,
  nowMs: number,
): void {
  if (required.mfa === true && token.acr !== ACR_MFA) {
    throw new InsufficientUserAuthenticationError('A login with a second factor is required', required.maxAgeSeconds, [ACR_MFA]);
  }
  if (required.maxAgeSeconds !== undefined && (token.authTime === undefined || nowMs / 1000 - token.authTime > required.maxAgeSeconds)) {
    throw new InsufficientUserAuthenticationError(
      'A more recent login is required',
      required.maxAgeSeconds,
      required.mfa === true ? [ACR_MFA] : undefined,
    );
  }
}
