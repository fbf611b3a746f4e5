/**
 * Domain errors. Each has a stable `code` (the contract); messages are for
 * humans and never carry a password, hash or token. `http/error-handler.ts`
 * maps codes to statuses; nothing else in core knows about HTTP.
 */
import type { LoginChallenge } from './login/login-challenge.js';
import type { RateCheck } from './rate-limit/rate-limits.js';

/**
 * Every code a domain error carries. A new error class needs its code here, and then a row in
 * http/error-handler.ts's table: without both it does not compile.
 */
export type PortcullisErrorCode =
  | 'ERR_CLIENT_NAME_TAKEN'
  | 'ERR_DUPLICATE_HEADER'
  | 'ERR_INACTIVE_USER'
  | 'ERR_INSUFFICIENT_SCOPE'
  | 'ERR_INVALID_CLIENT'
  | 'ERR_INVALID_CREDENTIALS'
  | 'ERR_INVALID_REFRESH_TOKEN'
  | 'ERR_INVALID_REQUEST'
  | 'ERR_INVALID_SCOPE'
  | 'ERR_INVALID_RESET_TOKEN'
  | 'ERR_INVALID_SIGN_IN_LINK'
  | 'ERR_INVALID_TOKEN'
  | 'ERR_LOGIN_THROTTLED'
  | 'ERR_MAIL_UNAVAILABLE'
  | 'ERR_NOT_AUTHENTICATED'
  | 'ERR_NOT_FOUND'
  | 'ERR_OVERLOADED'
  | 'ERR_RATE_LIMITED'
  | 'ERR_REFRESH_TOKEN_REUSED'
  | 'ERR_REGISTRATION_CLOSED'
  | 'ERR_STORAGE_UNAVAILABLE'
  | 'ERR_UNSUPPORTED_GRANT_TYPE'
  | 'ERR_UNSUPPORTED_MEDIA_TYPE'
  | 'ERR_USERNAME_TAKEN'
  | 'ERR_EMAIL_TAKEN'
  | 'ERR_EMAIL_NOT_VERIFIED'
  | 'ERR_INVALID_VERIFICATION_TOKEN'
  | 'ERR_USER_NOT_FOUND'
  | 'ERR_VALIDATION'
  | 'ERR_WRONG_PASSWORD'
  | 'ERR_WRONG_PRINCIPAL'
  | 'ERR_MFA_REQUIRED'
  | 'ERR_INVALID_MFA_TOKEN'
  | 'ERR_INVALID_OTP'
  | 'ERR_INVALID_WEBAUTHN'
  | 'ERR_INSUFFICIENT_USER_AUTHENTICATION'
  | 'ERR_INVALID_GRANT'
  | 'ERR_UNAUTHORIZED_CLIENT';

export abstract class PortcullisError extends Error {
  abstract readonly code: PortcullisErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The request itself is malformed: missing field, wrong type, bad encoding. */
export class InvalidRequestError extends PortcullisError {
  readonly code = 'ERR_INVALID_REQUEST';
}

/**
 * A header that must appear once came twice (`Authorization`): Node keeps only the first, so the
 * request would be judged by one while whatever stands in front may have judged it by the other.
 */
export class DuplicateHeaderError extends PortcullisError {
  readonly code = 'ERR_DUPLICATE_HEADER';
  constructor(readonly header: string) {
    super(`Duplicate ${header} header`);
  }
}

export class UnsupportedGrantTypeError extends PortcullisError {
  readonly code = 'ERR_UNSUPPORTED_GRANT_TYPE';
  constructor(message = 'Unsupported grant_type') {
    super(message);
  }
}

/** Unknown user or wrong password: deliberately indistinguishable. */
export class InvalidCredentialsError extends PortcullisError {
  readonly code = 'ERR_INVALID_CREDENTIALS';
  constructor() {
    super('Incorrect username or password');
  }
}

/** Right password, disabled account. Only ever raised after the password checked out. */
export class InactiveUserError extends PortcullisError {
  readonly code = 'ERR_INACTIVE_USER';
  constructor() {
    super('Inactive user');
  }
}

export class NotAuthenticatedError extends PortcullisError {
  readonly code = 'ERR_NOT_AUTHENTICATED';
  constructor() {
    super('Not authenticated');
  }
}

/** Bad, expired, tampered or revoked token, or its user is gone or disabled. */
export class InvalidTokenError extends PortcullisError {
  readonly code = 'ERR_INVALID_TOKEN';
  constructor(options?: { cause?: unknown }) {
    super('Could not validate credentials', options);
  }
}

export class InsufficientScopeError extends PortcullisError {
  readonly code = 'ERR_INSUFFICIENT_SCOPE';
  constructor(readonly requiredScopes: readonly string[]) {
    super('Not enough permissions');
  }
}

export class UsernameTakenError extends PortcullisError {
  readonly code = 'ERR_USERNAME_TAKEN';
  constructor(options?: { cause?: unknown }) {
    super('Username already registered', options);
  }
}

/** The address is another account's verified e-mail: verified addresses are unique, since they log in. */
export class EmailTakenError extends PortcullisError {
  readonly code = 'ERR_EMAIL_TAKEN';
  constructor(options?: { cause?: unknown }) {
    super('E-mail address already verified by another account', options);
  }
}

/** A username, e-mail, name or password that the rules refuse; the message says which rule. */
export class ValidationError extends PortcullisError {
  readonly code = 'ERR_VALIDATION';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export class RegistrationClosedError extends PortcullisError {
  readonly code = 'ERR_REGISTRATION_CLOSED';
  constructor() {
    super('Registration is closed');
  }
}

export class UserNotFoundError extends PortcullisError {
  readonly code = 'ERR_USER_NOT_FOUND';
  constructor(username: string) {
    super(`No user named ${JSON.stringify(username)}`);
  }
}

/** Too much work queued (password hashing): shed load instead of queueing without bound. */
export class OverloadedError extends PortcullisError {
  readonly code = 'ERR_OVERLOADED';
  constructor(readonly retryAfterSeconds: number) {
    super('Server busy, try again shortly');
  }
}

/** A rate-limit bucket (per client IP or per account) is empty; `check` says which and until when. */
export class RateLimitedError extends PortcullisError {
  readonly code = 'ERR_RATE_LIMITED';
  readonly retryAfterSeconds: number;
  constructor(
    readonly check: RateCheck,
    /** On a password attempt: solving it lets the attempt through (core/login/login-challenge.ts). */
    readonly challenge?: LoginChallenge,
    /** On a password login with SIGN_IN_LINKS=on: a link by mail is a way in that needs no work. */
    readonly signInLinkAvailable = false,
  ) {
    super('Too many requests');
    this.retryAfterSeconds = check.decision.retryAfterSeconds;
  }
}

/** The database cannot be reached or answered with a fault. */
export class StorageUnavailableError extends PortcullisError {
  readonly code = 'ERR_STORAGE_UNAVAILABLE';
  constructor(options?: { cause?: unknown }) {
    super('Storage unavailable', options);
  }
}

/** A request body in a media type or charset that is not accepted. */
export class UnsupportedMediaTypeError extends PortcullisError {
  readonly code = 'ERR_UNSUPPORTED_MEDIA_TYPE';
}

export class ClientNameTakenError extends PortcullisError {
  readonly code = 'ERR_CLIENT_NAME_TAKEN';
  constructor(options?: { cause?: unknown }) {
    super('Client name already registered', options);
  }
}

/** Client authentication failed (RFC 6749 §5.2 invalid_client). */
export class InvalidClientError extends PortcullisError {
  readonly code = 'ERR_INVALID_CLIENT';
  constructor(message = 'Client authentication failed') {
    super(message);
  }
}

/** A refresh token that is unknown, expired, revoked, or bound to another client (invalid_grant). */
export class InvalidRefreshTokenError extends PortcullisError {
  readonly code = 'ERR_INVALID_REFRESH_TOKEN';
  constructor(message = 'Invalid refresh token') {
    super(message);
  }
}

/** A retired refresh token presented again after the grace window: its session is revoked. */
export class RefreshTokenReusedError extends PortcullisError {
  readonly code = 'ERR_REFRESH_TOKEN_REUSED';
  constructor() {
    super('Refresh token reuse detected; the session has been revoked');
  }
}

/** A scope asked for that the grant does not hold (RFC 6749 §5.2 invalid_scope). */
export class InvalidScopeError extends PortcullisError {
  readonly code = 'ERR_INVALID_SCOPE';
}

export class NotFoundError extends PortcullisError {
  readonly code = 'ERR_NOT_FOUND';
}

/** The current password given to change it was wrong. */
export class WrongPasswordError extends PortcullisError {
  readonly code = 'ERR_WRONG_PASSWORD';
  constructor() {
    super('Current password is incorrect');
  }
}

/** A valid token of the wrong kind for the route (a client's token where a user is needed). */
export class WrongPrincipalError extends PortcullisError {
  readonly code = 'ERR_WRONG_PRINCIPAL';
  constructor(message = 'Not enough permissions') {
    super(message);
  }
}

/**
 * A password login refused before its password was checked: too many failures
 * of this account from this source, or one source failing on many accounts.
 * Says nothing about whether the account exists.
 */
export class LoginThrottledError extends PortcullisError {
  readonly code = 'ERR_LOGIN_THROTTLED';
  constructor(
    readonly retryAfterSeconds: number,
    /** Solving it lets the attempt through at once (core/login/login-challenge.ts). */
    readonly challenge?: LoginChallenge,
    /** On a password login with SIGN_IN_LINKS=on: a link by mail is a way in that needs no work. */
    readonly signInLinkAvailable = false,
  ) {
    super('Too many failed login attempts; try again later, or solve the challenge');
  }
}

/** A password reset token that is unknown, used, expired, or whose account is gone or disabled: one answer for all. */
export class InvalidResetTokenError extends PortcullisError {
  readonly code = 'ERR_INVALID_RESET_TOKEN';
  constructor() {
    super('Invalid or expired password reset token');
  }
}

/**
 * Right password, but REQUIRE_VERIFIED_EMAIL=on and the account's address is not verified (or it
 * has none). Only ever raised after the password checked out, as InactiveUserError.
 */
export class EmailNotVerifiedError extends PortcullisError {
  readonly code = 'ERR_EMAIL_NOT_VERIFIED';
  constructor() {
    super('E-mail address not verified: open the link in the verification mail, or ask for a new one at POST /email/verify/resend');
  }
}

/** An e-mail verification token that is unknown, used, expired, of another purpose, or whose account is gone or disabled. */
export class InvalidVerificationTokenError extends PortcullisError {
  readonly code = 'ERR_INVALID_VERIFICATION_TOKEN';
  constructor() {
    super('Invalid or expired e-mail verification token');
  }
}

/**
 * A sign-in link's token that is unknown, used, expired, or of another purpose: one answer for all
 * (the `invalid_grant` of its grant at POST /token).
 */
export class InvalidSignInLinkError extends PortcullisError {
  readonly code = 'ERR_INVALID_SIGN_IN_LINK';
  constructor() {
    super('Invalid, used or expired sign-in link');
  }
}

/** A route needs mail and no transport is configured (production without SMTP_URL or MAIL_WEBHOOK_URL). */
export class MailUnavailableError extends PortcullisError {
  readonly code = 'ERR_MAIL_UNAVAILABLE';
  constructor() {
    super('Mail is not configured on this server (SMTP_URL or MAIL_WEBHOOK_URL)');
  }
}

/**
 * The first step of a login was right and the account has a second factor, or MFA_POLICY (or the
 * user's flag) requires one: no tokens yet. The client finishes the login with the mfa grant
 * (`mfaToken`, and a code of one of `factors`); with `enrolmentRequired` (no factor yet, `factors`
 * empty) it first enrols one with the mfaToken (POST /mfa/enrol).
 */
export class MfaRequiredError extends PortcullisError {
  readonly code = 'ERR_MFA_REQUIRED';
  constructor(
    /** Single-use, short-lived; never logged. */
    readonly mfaToken: string,
    readonly factors: readonly string[],
    /** The policy requires a second factor and the user has none: enrol one first. */
    readonly enrolmentRequired = false,
    /** The WebAuthn request options (PublicKeyCredentialRequestOptionsJSON) when the user has a WebAuthn factor. */
    readonly webauthnOptions?: object,
  ) {
    super('Multi-factor authentication required: send a code with the mfa grant');
  }
}

/** An mfa_token that is unknown, used, expired, out of attempts, of another client, or whose account changed: one answer for all. */
export class InvalidMfaTokenError extends PortcullisError {
  readonly code = 'ERR_INVALID_MFA_TOKEN';
  constructor(message = 'Invalid, used or expired mfa_token; log in again') {
    super(message);
  }
}

/** A one-time code (TOTP or recovery code) that is wrong, or was used already. */
export class InvalidOtpError extends PortcullisError {
  readonly code = 'ERR_INVALID_OTP';
  constructor(message = 'Invalid one-time code') {
    super(message);
  }
}

/**
 * A WebAuthn answer that does not verify: malformed, for another challenge, origin or relying
 * party, a bad signature, a credential that is not the user's, or a counter that went backwards
 * (a cloned authenticator).
 */
export class InvalidWebAuthnResponseError extends PortcullisError {
  readonly code = 'ERR_INVALID_WEBAUTHN';
  constructor(message = 'The WebAuthn response does not verify') {
    super(message);
  }
}

/**
 * RFC 9470: the token is valid but its login is not strong or recent enough for the request: the
 * client sends the user through a (fresh) login, with a second factor when `mfa` says so.
 */
export class InsufficientUserAuthenticationError extends PortcullisError {
  readonly code = 'ERR_INSUFFICIENT_USER_AUTHENTICATION';
  constructor(
    message: string,
    /** The oldest login accepted, in seconds (RFC 9470 `max_age`). */
    readonly maxAgeSeconds?: number,
    /** The `acr` values accepted (RFC 9470 `acr_values`). */
    readonly acrValues?: readonly string[],
  ) {
    super(message);
  }
}

/** An authorization code that is unknown, used, expired, or bound to another client, redirect URI or verifier (RFC 6749 §5.2 invalid_grant). */
export class InvalidGrantError extends PortcullisError {
  readonly code = 'ERR_INVALID_GRANT';
  constructor(message = 'Invalid authorization code') {
    super(message);
  }
}

/** The client is not registered for this grant type (RFC 6749 §5.2 unauthorized_client). */
export class UnauthorizedClientError extends PortcullisError {
  readonly code = 'ERR_UNAUTHORIZED_CLIENT';
}
