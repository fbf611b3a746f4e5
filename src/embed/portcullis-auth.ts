/**
 * Portcullis as a library, without HTTP: `openPortcullis(options)` starts it
 * (database migrated, hashing pool, keys) and returns a handful of functions
 * for any framework: verify a request's bearer token, log in, refresh,
 * revoke, create users, hash and check passwords. Errors are Portcullis
 * errors (stable `code`s); `errorResponse(error)` turns one into the HTTP
 * answer the server would give. The rate limits and the login backoff apply
 * as on the server, counted per `ip` when the caller passes it.
 */
import { SYSTEM, type ActionContext } from '../core/action-context.js';
import type { PortcullisConfig } from '../server/config.js';
import { InvalidRequestError, InvalidTokenError, NotAuthenticatedError } from '../core/errors.js';
import type { Portcullis, TokenResponse, UserAuthContext } from '../core/portcullis.js';
import type { AccessTokenClaims } from '../core/tokens/access-token.js';
import { parseAuthenticationResponse } from '../core/factors/webauthn.js';
import { toPublicUser, type PublicUser } from '../core/users/user.js';
import type { CreateUserInput } from '../core/users/user-service.js';
import { revocationBodySchema, tokenBodySchema } from '../http/schemas/token-schemas.js';
import { parseBearerToken } from '../verifier/bearer.js';
import { NoTokenError } from '../verifier/errors.js';
import { composePortcullis, type ComposedPortcullis } from '../server/compose-portcullis.js';
import { embedConfig, type PortcullisOptions } from './embed-options.js';
import { resetPasswordBodySchema } from '../http/schemas/password-reset-schemas.js';
import { verifyEmailBodySchema } from '../http/schemas/email-verification-schemas.js';
import { useHostDatabase } from '../server/host-database.js';

/** The user of a verified access token. Never carries the password hash. */
/** The second step's proof: a TOTP code, a recovery code, or a WebAuthn answer (its JSON). */
export type MfaProof = { readonly otp: string } | { readonly recoveryCode: string } | { readonly webauthnResponse: string };

export interface AuthenticatedUser {
  /** Stable internal id (usernames are stable too). */
  readonly id: string;
  readonly username: string;
  readonly email: string | null;
  readonly fullName: string | null;
  /**
   * The scopes of this token that the account still holds: fewer than the account holds when the
   * token was narrowed at login, and a scope taken from the account is gone at once. (`claims.scope`
   * is what the token was issued with; check `scopes`.)
   */
  readonly scopes: readonly string[];
  /** The login session the token belongs to. */
  readonly sessionId: string;
  readonly claims: AccessTokenClaims;
}

/** Where a request comes from: counted by the rate limits and the login backoff, and recorded in the audit log. */
export interface RequestInfo {
  /** The client's address (`req.ip`). Without it every caller counts as one source. */
  readonly ip?: string | null;
  readonly userAgent?: string | null;
}

export interface TokenRequest extends RequestInfo {
  /** Narrow the token to these scopes (of those the account or the refreshed session holds). */
  readonly scopes?: readonly string[];
  /**
   * issueTokens: the solution of the `challenge` that a throttled attempt's error
   * (LoginThrottledError or RateLimitedError) carried; it lets this attempt through to the password check.
   */
  readonly challengeSolution?: string;
}

export interface VerifyRequestOptions {
  /** Every one of these scopes is required (403 insufficient_scope otherwise). */
  readonly scopes?: readonly string[];
  /** A login completed with a second factor (401 insufficient_user_authentication otherwise, RFC 9470). */
  readonly mfa?: boolean;
  /** A login at most this many seconds old (401 insufficient_user_authentication with `max_age` otherwise). */
  readonly maxAgeSeconds?: number;
}

export interface PortcullisAuth {
  /**
   * Checks an `Authorization` header value: a user's valid bearer token whose
   * session is live and whose account is enabled (a service client's token is
   * refused with 403, as on `/users/me`). Throws NotAuthenticatedError (401,
   * no token), InvalidTokenError (401), InsufficientScopeError (403) or
   * WrongPrincipalError (403); `errorResponse(error)` gives the HTTP answer.
   */
  verifyRequest(authorization: string | undefined, options?: VerifyRequestOptions): Promise<AuthenticatedUser>;
  /** The password grant of `POST /token`: an access token, and a refresh token for a new session. */
  issueTokens(username: string, password: string, request?: TokenRequest): Promise<TokenResponse>;
  /**
   * The mfa grant: the second step of a login whose first (issueTokens, signInWithLink) threw
   * MfaRequiredError; `mfaToken` is that error's, with a code of the user's authenticator app
   * (`otp`), a recovery code, or the browser's answer to the error's `webauthnOptions` (the JSON
   * string a client sends as `webauthn_response`). InvalidMfaTokenError, InvalidOtpError,
   * InvalidWebAuthnResponseError, RateLimitedError.
   */
  completeMfaLogin(mfaToken: string, proof: MfaProof, request?: TokenRequest): Promise<TokenResponse>;
  /** The refresh grant: rotates the refresh token (reuse of an old one ends the session). */
  refreshTokens(refreshToken: string, request?: TokenRequest): Promise<TokenResponse>;
  /** Ends the session of a refresh or access token (logout); an unknown token is no error (RFC 7009). */
  revokeToken(token: string, request?: RequestInfo): Promise<void>;
  /** Creates an account (whatever REGISTRATION says: the caller decides who may), with the password policy applied. */
  createUser(input: CreateUserInput): Promise<PublicUser>;
  /**
   * `POST /password/forgot`: exactly one of `email` and `username`. Resolves alike whether or not an
   * account matches (the mail is prepared after it returns; `core.passwordResets.settled()` waits for
   * it). Throws MailUnavailableError where no mail transport is configured in production, and
   * RateLimitedError past the client address's bucket.
   */
  requestPasswordReset(who: { readonly email?: string; readonly username?: string }, request?: RequestInfo): Promise<void>;
  /** `POST /password/reset`: InvalidResetTokenError for an unusable token, ValidationError for a refused password. */
  resetPassword(token: string, newPassword: string, request?: RequestInfo): Promise<void>;
  /** POST /email/verify: the token from a verification mail makes its address the user's, verified. */
  verifyEmail(token: string, request?: RequestInfo): Promise<void>;
  /** POST /email/verify/resend: a new verification mail for an account's unverified address; answers alike whether or not one is sent. */
  resendEmailVerification(who: { readonly email?: string; readonly username?: string }, request?: RequestInfo): Promise<void>;
  /**
   * `POST /signin/link` (SIGN_IN_LINKS=on): exactly one of `email` and `username`. Resolves alike
   * whether or not an account matches (the mail is prepared after it returns;
   * `core.signInLinks.settled()` waits for it). Throws NotFoundError with SIGN_IN_LINKS=off,
   * MailUnavailableError where no mail transport is configured in production, and RateLimitedError
   * past the client address's bucket.
   */
  requestSignInLink(who: { readonly email?: string; readonly username?: string }, request?: RequestInfo): Promise<void>;
  /**
   * The sign-in link grant of `POST /token`: the mailed link's token for an access token and a
   * refresh token of a new session. Spends the client address's bucket only (no login backoff, no
   * challenge). InvalidSignInLinkError for an unusable token, InactiveUserError for a disabled
   * user, UnsupportedGrantTypeError with SIGN_IN_LINKS=off.
   */
  signInWithLink(token: string, request?: TokenRequest): Promise<TokenResponse>;
  /** argon2id through the bounded hashing pool; no policy check (createUser has one). */
  hashPassword(password: string): Promise<string>;
  /** Checks a password against an argon2id or bcrypt hash; false for anything else. */
  verifyPassword(hash: string, password: string): Promise<boolean>;
  /** Everything else (admin, sessions, clients, audit, keys): the Portcullis core object. */
  readonly core: Portcullis;
  readonly config: PortcullisConfig;
  /** Stops the background work and closes the database, unless it is the host's connection. */
  close(): Promise<void>;
}

export async function openPortcullis(options: PortcullisOptions): Promise<PortcullisAuth> {
  const config = embedConfig(options);
  const storage = 'kysely' in options.database ? await useHostDatabase(options.database) : undefined;
  const composed = await composePortcullis(config, { log: () => options.logger, ...(storage ? { storage } : {}) });
  return authFunctions(composed, config);
}

const LIMITS = tokenBodySchema.properties;

function authFunctions({ portcullis: core, hasher, close }: ComposedPortcullis, config: PortcullisConfig): PortcullisAuth {
  return Object.freeze({
    async verifyRequest(authorization: string | undefined, options: VerifyRequestOptions = {}) {
      const context = await core.authenticate(bearerToken(authorization));
      if (options.scopes !== undefined && options.scopes.length > 0) core.requireScopes(context, options.scopes);
      const user = core.requireUser(context);
      if (options.mfa === true || options.maxAgeSeconds !== undefined) {
        core.requireLogin(user, {
          mfa: options.mfa === true,
          ...(options.maxAgeSeconds === undefined ? {} : { maxAgeSeconds: options.maxAgeSeconds }),
        });
      }
      return authenticatedUser(user);
    },
    async issueTokens(username: string, password: string, request: TokenRequest = {}) {
      checkParameter('username', username, LIMITS.username.maxLength);
      checkParameter('password', password, LIMITS.password.maxLength);
      const context = actionContext(request);
      // The rate limits, the login backoff and the challenge are core's, as for POST /token.
      return core.passwordGrant(
        {
          username,
          password,
          ...scopesOf(request),
          ...(request.challengeSolution === undefined ? {} : { challengeSolution: request.challengeSolution }),
        },
        undefined,
        context,
      );
    },
    async completeMfaLogin(mfaToken: string, proof: MfaProof, request: TokenRequest = {}) {
      checkParameter('mfa_token', mfaToken, LIMITS.mfa_token.maxLength);
      const context = actionContext(request);
      // As for POST /token's mfa grant: the client address's bucket, then the token's and the account's (core).
      await core.rateLimits.check({ action: 'token' }, context);
      const parsed = 'webauthnResponse' in proof ? { webauthn: parseAuthenticationResponse(proof.webauthnResponse) } : proof;
      return (await core.mfaLogin(mfaToken, parsed, undefined, context)).tokens;
    },
    async refreshTokens(refreshToken: string, request: TokenRequest = {}) {
      checkParameter('refresh_token', refreshToken, LIMITS.refresh_token.maxLength);
      const context = actionContext(request);
      await core.rateLimits.check({ action: 'token' }, context);
      return core.refreshGrant(refreshToken, request.scopes, undefined, context);
    },
    async revokeToken(token: string, request: RequestInfo = {}) {
      checkParameter('token', token, revocationBodySchema.properties.token.maxLength);
      const context = actionContext(request);
      await core.rateLimits.check({ action: 'revoke' }, context);
      await core.revokeToken(token, undefined, context);
    },
    async createUser(input: CreateUserInput) {
      // As POST /users's schema: the other fields are checked by the user rules.
      for (const field of ['username', 'password'] as const) {
        if (typeof input?.[field] !== 'string') throw new InvalidRequestError(`Missing required field: ${field}`);
      }
      const user = await core.users.create(input, SYSTEM);
      // As POST /users: a verification mail when the library has a mail channel; none otherwise, and the user is created either way.
      await core.emailVerifications.afterSignUp(user, SYSTEM);
      return toPublicUser(user);
    },
    async requestPasswordReset(who: { readonly email?: string; readonly username?: string }, request: RequestInfo = {}) {
      await core.requestPasswordReset({ email: who?.email, username: who?.username }, actionContext(request));
    },
    async resetPassword(token: string, newPassword: string, request: RequestInfo = {}) {
      checkParameter('token', token, resetPasswordBodySchema.properties.token.maxLength);
      checkParameter('new_password', newPassword, resetPasswordBodySchema.properties.new_password.maxLength);
      await core.resetPassword(token, newPassword, actionContext(request));
    },
    async verifyEmail(token: string, request: RequestInfo = {}) {
      checkParameter('token', token, verifyEmailBodySchema.properties.token.maxLength);
      await core.verifyEmail(token, actionContext(request));
    },
    async resendEmailVerification(who: { readonly email?: string; readonly username?: string }, request: RequestInfo = {}) {
      await core.resendEmailVerification({ email: who?.email, username: who?.username }, actionContext(request));
    },
    async requestSignInLink(who: { readonly email?: string; readonly username?: string }, request: RequestInfo = {}) {
      await core.requestSignInLink({ email: who?.email, username: who?.username }, actionContext(request));
    },
    async signInWithLink(token: string, request: TokenRequest = {}) {
      checkParameter('token', token, LIMITS.token.maxLength);
      const context = actionContext(request);
      // As POST /token's other grants: the client address's bucket, nothing else.
      await core.rateLimits.check({ action: 'token' }, context);
      return core.signInWithLink(token, request.scopes, undefined, context);
    },
    hashPassword(password: string) {
      checkParameter('password', password, LIMITS.password.maxLength);
      return hasher.hash(password);
    },
    verifyPassword(hash: string, password: string) {
      checkParameter('password', password, LIMITS.password.maxLength);
      return hasher.verify(hash, password);
    },
    core,
    config,
    close,
  });
}

/** The bearer credential (RFC 6750 §2.1), parsed as the verifier library does, as core errors. */
function bearerToken(authorization: string | undefined): string {
  try {
    return parseBearerToken(authorization);
  } catch (error) {
    throw error instanceof NoTokenError ? new NotAuthenticatedError() : new InvalidTokenError({ cause: error });
  }
}

function authenticatedUser(auth: UserAuthContext): AuthenticatedUser {
  const { user, session, claims, scopes } = auth;
  return Object.freeze({
    id: user.id,
    username: user.username,
    email: user.email,
    fullName: user.fullName,
    scopes: Object.freeze([...scopes]),
    sessionId: session.id,
    claims,
  });
}

/** The limits the server's schema puts on the same parameters; a missing one is a 400, as there. */
function checkParameter(name: string, value: unknown, maxLength: number): asserts value is string {
  if (typeof value !== 'string' || value === '') throw new InvalidRequestError(`Missing required parameter: ${name}`);
  if (value.length > maxLength) throw new InvalidRequestError(`${name} must NOT have more than ${maxLength} characters`);
}

function actionContext(request: RequestInfo): ActionContext {
  return { actor: 'anonymous', ip: request.ip ?? null, userAgent: request.userAgent ?? null };
}

function scopesOf(request: TokenRequest): { scopes?: readonly string[] } {
  return request.scopes === undefined ? {} : { scopes: request.scopes };
}
