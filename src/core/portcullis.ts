/**
 * The Portcullis library: grants, bearer authentication, sessions, account
 * management, token revocation and introspection, built from a validated
 * Config and the ports it is given. No HTTP and no SQL here; http/ and cli/
 * call this.
 */
import { createAccountServices, type Stores } from './account-services.js';
import type { ActionContext } from './action-context.js';
import { checkEndSessionRequest, type CheckedEndSession, type EndSessionQuery } from './logout/end-session-request.js';
import type { AuditLog } from './audit/audit-log.js';
import type { AuthStateCache } from './auth-cache.js';
import type { Client, ClientCredentials } from './clients/client.js';
import type { ClientService } from './clients/client-service.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import type { AuthenticationResponseJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import {
  EmailNotVerifiedError,
  InactiveUserError,
  InsufficientScopeError,
  InsufficientUserAuthenticationError,
  InvalidClientError,
  InvalidTokenError,
  InvalidWebAuthnResponseError,
  MailUnavailableError,
  NotFoundError,
  PortcullisError,
  RegistrationClosedError,
  UnsupportedGrantTypeError,
  ValidationError,
  WrongPasswordError,
  WrongPrincipalError,
} from './errors.js';
import { LoginGuard } from './login/login-guard.js';
import type { PublicFactor } from './factors/factor.js';
import { FactorService, type SecondFactorProof, type TotpEnrolment, type WebAuthnEnrolment } from './factors/factor-service.js';
import { WebAuthnCeremonies } from './factors/webauthn.js';
import { MfaTokens } from './factors/mfa-tokens.js';
import { mfaRequiredFor } from './factors/mfa-policy.js';
import { resetFactors, type FactorReset } from './factors/factor-reset.js';
import { requireLogin, type LoginRequirement } from './factors/step-up.js';
import type { LoginAttemptStore, PasswordHasher, RateLimiter } from './ports.js';
import { RateLimits, type RateCheck } from './rate-limit/rate-limits.js';
import { parseRefreshToken, SuccessorSealer } from './sessions/refresh-token.js';
import { readRevocationFeed, type RevocationFeedResponse } from './sessions/revocation-feed.js';
import { isSessionActive, sessionAuthentication, type Session } from './sessions/session.js';
import type { SessionService } from './sessions/session-service.js';
import { secretMatches } from './secrets.js';
import { AccessTokenCodec, requiredClaims, type AccessTokenClaims } from './tokens/access-token.js';
import { isHmacAlgorithm, keyStoreAlgorithm } from './tokens/algorithms.js';
import { IdTokens } from './oidc/id-tokens.js';
import { identityClaims, type IdentityClaims } from './oidc/identity-claims.js';
import { AsymmetricKeyRing, HmacKeys, type SigningKeys } from './keys/key-ring.js';
import { KeyService } from './keys/key-service.js';
import { SealedBox } from './sealed-box.js';
import { formatScopes, grantScopes, heldScopes } from './tokens/scopes.js';
import { TokenService, type PasswordGrantInput, type PasswordLogin, type TokenResponse } from './tokens/token-service.js';
import type { User } from './users/user.js';
import { usernameKey } from './users/user-fields.js';
import { LoginChallenges } from './login/login-challenge.js';
import type { CreateUserInput, UserService } from './users/user-service.js';
import type { Mailer } from './outbox/mailer.js';
import type { OutboxStats } from './outbox/outbox-message.js';
import { PasswordResets, type PasswordResetRequest } from './passwords/password-reset.js';
import { EmailVerifications } from './users/email-verification.js';
import type { AccountReference } from './users/find-account.js';
import type { LoginTicket } from './login/login-guard.js';
import { SignInLinks } from './login/sign-in-links.js';
import { AuthorizationService, type CodeExchange } from './authorization/authorization-service.js';

export type { PasswordGrantInput, PasswordLogin, TokenResponse } from './tokens/token-service.js';

/** The sign-in link grant's `grant_type` (RFC 6749 §4.5: an extension grant is an absolute URI). */
export const SIGN_IN_LINK_GRANT = 'urn:portcullis:params:oauth:grant-type:sign-in-link';
/** The passkey grant's `grant_type` (PASSKEY_LOGIN=on, ADR 0025): a WebAuthn assertion alone signs in. */
export const PASSKEY_GRANT = 'urn:portcullis:params:oauth:grant-type:passkey';

export interface PortcullisDependencies {
  readonly config: Config;
  readonly stores: Stores;
  readonly hasher: PasswordHasher;
  readonly clock?: Clock;
  /** Login backoff and spraying bookkeeping; without it (or with RATE_LIMITS=off) those defences are off. */
  readonly loginAttempts?: LoginAttemptStore;
  /** Token buckets for the rate limits (MemoryRateLimiter, RedisRateLimiter); without one there are none. */
  readonly rateLimiter?: RateLimiter;
  /** The mail channel's mailer (ADR 0022); without one (or unavailable) password reset requests answer ERR_MAIL_UNAVAILABLE. */
  readonly mailer?: Mailer;
  /** Work done after its request was answered (a password reset's mail) failed: for the log. */
  readonly onBackgroundError?: (error: unknown, message: string) => void;
}

/** A verified bearer token of a user's login. */
export interface UserAuthContext {
  readonly kind: 'user';
  readonly user: User;
  readonly session: Session;
  readonly claims: AccessTokenClaims;
  /** The token's scopes that the user holds now (claims.scope is what it was issued with). */
  readonly scopes: ReadonlySet<string>;
}

/** A verified bearer token of a service client (client_credentials). */
export interface ClientAuthContext {
  readonly kind: 'client';
  readonly client: Client;
  readonly claims: AccessTokenClaims;
  /** The token's scopes that the client holds now. */
  readonly scopes: ReadonlySet<string>;
}

export type AuthContext = UserAuthContext | ClientAuthContext;

/** A change the signed-in user asks for with the current password. */
export interface CurrentPasswordAttempt {
  readonly currentPassword: string;
  readonly challengeSolution?: string | undefined;
  /** As for the password grant: the tightest bucket, before the password is checked. */
  readonly onRateCheck?: ((check: RateCheck) => void) | undefined;
}

/** The audit event a wrong current password is recorded as, by the change it was for. */
const CURRENT_PASSWORD_AUDIT = {
  password_change: 'password.changed',
  email_change: 'email.change_requested',
  factor_change: 'factor.added',
} as const;

/** Removing the last second factor needs a login this recent (RFC 9470 `max_age`). */
export const FRESH_LOGIN_SECONDS = 300;

/** The mfa grant's `grant_type` (RFC 6749 §4.5; Auth0 calls its own `http://auth0.com/oauth/grant-type/mfa-otp`). */
export const MFA_GRANT = 'urn:portcullis:params:oauth:grant-type:mfa';

/** What an authenticator app shows above the code: the issuer's host name, or the issuer itself when it is not a URL. */
function totpIssuer(issuer: string): string {
  try {
    return new URL(issuer).host || issuer;
  } catch {
    return issuer;
  }
}

export type SignUpInput = Pick<CreateUserInput, 'username' | 'password' | 'email' | 'fullName'>;

/** RFC 7662 §2.2. */
export type IntrospectionResponse = { readonly active: false } | ({ readonly active: true } & Record<string, unknown>);

export type TokenTypeHint = 'access_token' | 'refresh_token' | undefined;

export class Portcullis {
  readonly config: Config;
  readonly users: UserService;
  readonly sessions: SessionService;
  readonly clients: ClientService;
  readonly audit: AuditLog;
  readonly cache: AuthStateCache;
  /** Per client address and per account; the HTTP routes check them before doing the work. */
  readonly rateLimits: RateLimits;
  /** Password reset by mail (issue 14); `passwordResets.settled()` waits for the mails of requests answered so far. */
  readonly passwordResets: PasswordResets;
  /** E-mail verification (issue 14); `emailVerifications.settled()` waits for the mails of resends answered so far. */
  readonly emailVerifications: EmailVerifications;
  /** Sign-in links by mail (SIGN_IN_LINKS=on); `signInLinks.settled()` waits for the mails of requests answered so far. */
  readonly signInLinks: SignInLinks;
  /** Second factors: TOTP, WebAuthn, recovery codes (issue 15, ADRs 0024, 0025). */
  readonly factors: FactorService;
  /** WebAuthn ceremonies: registration, second steps, passkey logins (ADR 0025). */
  readonly webauthn: WebAuthnCeremonies;
  /** The authorization code flow: /authorize's decisions, consent, the code's exchange (issue 16, ADR 0028). */
  readonly authorization: AuthorizationService;
  private readonly stores: Stores;
  private readonly mailer: Mailer | undefined;
  private readonly hasher: PasswordHasher;
  private readonly clock: Clock;
  /**
   * The key store's keys (ADR 0006): with an asymmetric ALGORITHM they sign access tokens; they
   * always sign ID and logout tokens (RS256 ones with an HMAC ALGORITHM, whose key is SECRET_KEY).
   */
  readonly keys: KeyService;
  private readonly keyRing: AsymmetricKeyRing;
  /** ID tokens and logout tokens (OpenID Connect), signed by the key store's current key (ADR 0028). */
  readonly idTokens: IdTokens;
  private readonly codec: AccessTokenCodec;
  private readonly tokens: TokenService;
  private readonly mfaTokens: MfaTokens;
  /** Backoff, spraying, the buckets of password attempts and their challenge; undefined with RATE_LIMITS=off or no login store. */
  private readonly loginGuard: LoginGuard | undefined;

  constructor(deps: PortcullisDependencies) {
    this.config = deps.config;
    this.stores = deps.stores;
    this.mailer = deps.mailer;
    this.hasher = deps.hasher;
    this.clock = deps.clock ?? systemClock;
    const services = createAccountServices(this.config, this.stores, this.hasher, this.clock);
    this.users = services.users;
    this.sessions = services.sessions;
    this.clients = services.clients;
    this.audit = services.audit;
    this.cache = services.cache;
    this.rateLimits = new RateLimits({
      limiter: deps.rateLimiter,
      settings: this.config.abuse,
      audit: this.audit,
      users: this.stores.users,
    });
    // What the three flows that mail an account a token share.
    const mailing = {
      users: this.stores.users,
      store: this.stores.mailTokens,
      mailer: deps.mailer,
      rateLimits: this.rateLimits,
      audit: this.audit,
      clock: this.clock,
    };
    this.passwordResets = new PasswordResets({
      ...mailing,
      userService: this.users,
      ttlMinutes: this.config.passwordResetTtlMinutes,
      mailsPerHour: this.config.passwordResetMailsPerHour,
      onError: (error) => deps.onBackgroundError?.(error, 'password reset request failed after it was answered'),
    });
    this.emailVerifications = new EmailVerifications({
      ...mailing,
      invalidation: services.invalidation,
      ttlHours: this.config.emailVerificationTtlHours,
      mailsPerHour: this.config.emailVerificationMailsPerHour,
      onError: (error) => deps.onBackgroundError?.(error, 'e-mail verification mail failed'),
    });
    this.signInLinks = new SignInLinks({
      ...mailing,
      invalidation: services.invalidation,
      settings: this.config.signInLinks,
      onError: (error) => deps.onBackgroundError?.(error, 'sign-in link request failed after it was answered'),
    });
    this.webauthn = new WebAuthnCeremonies({ store: this.stores.factors, clock: this.clock, settings: this.config.webauthn });
    this.factors = new FactorService({
      store: this.stores.factors,
      secretKey: this.config.secretKey,
      issuer: totpIssuer(this.config.issuer),
      clock: this.clock,
      audit: this.audit,
      webauthn: this.webauthn,
    });
    const mfaTokens = (this.mfaTokens = new MfaTokens({
      store: this.stores.factors,
      users: this.stores.users,
      factors: this.factors,
      rateLimits: this.rateLimits,
      clock: this.clock,
      audit: this.audit,
    }));
    this.loginGuard = Portcullis.loginGuard(this.config, this.clock, this.audit, this.rateLimits, deps.loginAttempts);
    const policy = { issuer: this.config.issuer, audience: this.config.audience, requiredClaims: requiredClaims(this.config.audience) };
    const algorithm = this.config.algorithm;
    // The key store's keys: they sign access tokens with an asymmetric ALGORITHM, and ID and logout
    // tokens always (RS256 ones with an HMAC ALGORITHM, made when the first ID token needs them).
    const box = new SealedBox(this.config.secretKey, 'signing-key/v1');
    const ring = (this.keyRing = new AsymmetricKeyRing(
      keyStoreAlgorithm(algorithm),
      this.stores.keys,
      box,
      policy,
      this.clock,
      this.stores.changes,
    ));
    this.keys = new KeyService(
      this.stores.keys,
      box,
      this.clock,
      {
        algorithm: ring.algorithm,
        tokenLifetimeMs: (this.config.accessTokenTtlSeconds + this.config.clockToleranceSeconds + 60) * 1000,
        jwksMaxAgeMs: this.config.jwksMaxAgeSeconds * 1000,
        rotationIntervalMs: this.config.keyRotationDays * 86_400_000,
      },
      this.audit,
      async () => {
        await ring.reload();
        this.stores.bus?.publish({ kind: 'keys' });
      },
    );
    // Another instance (or `portcullis keys rotate`) changed the keys: the keys in hand are superseded
    // until they are loaded again (the bus confirms the change to its sender once that is done).
    this.stores.bus?.subscribe((change) => (change.kind === 'keys' ? ring.changed() : undefined));
    this.idTokens = new IdTokens(ring, this.keys, this.clock, {
      issuer: this.config.issuer,
      ttlSeconds: this.config.accessTokenTtlSeconds,
    });
    const keys: SigningKeys = isHmacAlgorithm(algorithm) ? new HmacKeys(algorithm, this.config.secretKey, policy) : ring;
    this.codec = new AccessTokenCodec(
      {
        algorithm,
        secretKey: this.config.secretKey,
        issuer: this.config.issuer,
        audience: this.config.audience,
        ttlSeconds: this.config.accessTokenTtlSeconds,
        clockToleranceSeconds: this.config.clockToleranceSeconds,
        // As many and as long as the auth cache's entries (AUTH_CACHE_*; a TTL of 0 turns both off).
        verifiedTokens: {
          maxEntries: this.config.authCacheTtlSeconds > 0 ? this.config.authCacheMaxEntries : 0,
          ttlMs: this.config.authCacheTtlSeconds * 1000,
        },
      },
      this.clock,
      keys,
    );
    this.tokens = new TokenService({
      users: this.stores.users,
      sessions: this.stores.sessions,
      sessionService: this.sessions,
      hasher: this.hasher,
      codec: this.codec,
      sealer: new SuccessorSealer(this.config.secretKey),
      clock: this.clock,
      audit: this.audit,
      invalidation: services.invalidation,
      refreshReuseGraceSeconds: this.config.refreshReuseGraceSeconds,
      rateLimits: this.rateLimits,
      requireVerifiedEmail: this.config.requireVerifiedEmail,
      mfa: { factors: this.factors, tokens: mfaTokens, policy: this.config.mfaPolicy },
      ...(this.loginGuard ? { loginGuard: this.loginGuard } : {}),
    });
    this.authorization = new AuthorizationService({
      store: this.stores.authorizations,
      users: this.stores.users,
      sessions: this.sessions,
      sessionStore: this.stores.sessions,
      tokens: this.tokens,
      clock: this.clock,
      audit: this.audit,
      issuer: this.config.issuer,
      idTokens: this.idTokens,
    });
  }

  private static loginGuard(
    config: Config,
    clock: Clock,
    audit: AuditLog,
    rateLimits: RateLimits,
    store: LoginAttemptStore | undefined,
  ): LoginGuard | undefined {
    if (store === undefined || !config.abuse.rateLimitsEnabled) return undefined;
    return new LoginGuard({
      store,
      settings: {
        freeFailures: config.abuse.backoffFreeFailures,
        baseSeconds: config.abuse.backoffBaseSeconds,
        maxSeconds: config.abuse.backoffMaxSeconds,
        sprayAccountsPerHour: config.abuse.sprayAccountsPerHour,
      },
      secretKey: config.secretKey,
      clock,
      audit,
      rateLimits: rateLimits.enabled ? rateLimits : undefined,
      challenges: new LoginChallenges(config.secretKey, clock, config.abuse.challenge),
      accountBurst: config.abuse.accountLimit.burst,
      signInLinks: config.signInLinks.enabled,
    });
  }

  async passwordGrant(
    grant: {
      readonly username: string;
      readonly password: string;
      readonly scopes?: readonly string[];
      readonly challengeSolution?: string;
    },
    client: Client | undefined,
    context: ActionContext,
  ): Promise<TokenResponse> {
    return (await this.passwordLogin(grant, client, context)).tokens;
  }

  /**
   * The password grant with the device signal: `deviceToken` is what the
   * client kept from an earlier login (the device cookie); the answer carries
   * the one to keep now (undefined when the login defences are off). A
   * throttled attempt throws LoginThrottledError or RateLimitedError with a
   * challenge; `challengeSolution` is its solution.
   */
  passwordLogin(grant: PasswordGrantInput, client: Client | undefined, context: ActionContext): Promise<PasswordLogin> {
    return this.tokens.passwordGrant(grant, client, context);
  }

  /**
   * The mfa grant of POST /token (MFA_GRANT, ADR 0024): the second step of a login that answered
   * `mfa_required`. The tokens and the device token as passwordLogin gives them.
   */
  mfaLogin(mfaToken: string, proof: SecondFactorProof, client: Client | undefined, context: ActionContext): Promise<PasswordLogin> {
    return this.tokens.mfaGrant(mfaToken, proof, client, context);
  }

  /**
   * POST /mfa/enrol: a user whom the MFA policy requires to have a second factor and who has none
   * starts enrolling an authenticator app with the mfa_token of the `mfa_required` answer
   * (`enrolment_required`); the mfa grant's first code confirms it and completes the login.
   */
  enrolAtLogin(mfaToken: string, name: string | undefined, context: ActionContext): Promise<TotpEnrolment> {
    return this.mfaTokens.enrol(mfaToken, name, context);
  }

  /** POST /users/me/factors/totp: needs the current password (guarded as for a password change); a pending factor and its URI. */
  async enrolTotp(
    auth: UserAuthContext,
    request: CurrentPasswordAttempt & { readonly name?: string | undefined },
    context: ActionContext,
  ): Promise<TotpEnrolment> {
    return this.factorChange(auth, request, context, () => this.factors.enrolTotp(auth.user, request.name, context));
  }

  /** POST /users/me/factors/webauthn: needs the current password (as TOTP does); a pending factor and its registration options. */
  async enrolWebAuthn(
    auth: UserAuthContext,
    request: CurrentPasswordAttempt & { readonly name?: string | undefined },
    context: ActionContext,
  ): Promise<WebAuthnEnrolment> {
    return this.factorChange(auth, request, context, () => this.factors.enrolWebAuthn(auth.user, request.name, context));
  }

  /** POST /users/me/recovery-codes: needs the current password; ten new codes replace the old ones. */
  regenerateRecoveryCodes(auth: UserAuthContext, request: CurrentPasswordAttempt, context: ActionContext): Promise<string[]> {
    return this.factorChange(auth, request, context, () => this.factors.regenerateRecoveryCodes(auth.user, context));
  }

  /** A change of the user's factors: the current password checked first (guarded as a login), its guard pair cleared after. */
  private async factorChange<T>(
    auth: UserAuthContext,
    request: CurrentPasswordAttempt,
    context: ActionContext,
    change: () => Promise<T>,
  ): Promise<T> {
    const ticket = await this.checkCurrentPassword(auth, 'factor_change', request, context);
    const result = await change();
    if (ticket) await this.loginGuard?.clear(ticket);
    return result;
  }

  /**
   * DELETE /users/me/factors/{id}. Removing the last confirmed factor (which turns the second step
   * off) needs a login within FRESH_LOGIN_SECONDS: InsufficientUserAuthenticationError (RFC 9470) otherwise.
   */
  async removeOwnFactor(auth: UserAuthContext, id: string, context: ActionContext): Promise<void> {
    const factors = await this.stores.factors.listByUser(auth.user.id);
    const target = factors.find((f) => f.id === id);
    const confirmed = factors.filter((f) => f.confirmedAt !== null);
    if (target !== undefined && target.confirmedAt !== null && confirmed.length === 1) {
      // The policy would only have them enrol again at the next login, with the password alone.
      if (mfaRequiredFor(this.config.mfaPolicy, auth.user)) {
        throw new ValidationError('factors', 'A second factor is required of this account: enrol another before removing the last one');
      }
      const authTime = auth.claims.auth_time ?? auth.claims.iat;
      if (this.clock.now() / 1000 - authTime > FRESH_LOGIN_SECONDS) {
        throw new InsufficientUserAuthenticationError('Removing the last second factor needs a fresh login', FRESH_LOGIN_SECONDS);
      }
    }
    await this.factors.remove(auth.user, id, { ...context, actor: auth.user.username });
  }

  /** DELETE /admin/users/{name}/factors: every factor and recovery code of the user removed, audited, the user told by mail. */
  async resetUserFactors(username: string, context: ActionContext): Promise<FactorReset> {
    const user = await this.users.get(username);
    return resetFactors({ store: this.stores.factors, audit: this.audit, mailer: this.mailer }, user, context);
  }

  /** The signed-in user's confirmed factors and unused recovery codes. */
  async ownFactors(auth: UserAuthContext): Promise<{ factors: PublicFactor[]; recoveryCodesLeft: number }> {
    return { factors: await this.factors.list(auth.user), recoveryCodesLeft: await this.factors.recoveryCodesLeft(auth.user) };
  }

  refreshGrant(
    refreshToken: string,
    scopes: readonly string[] | undefined,
    client: Client | undefined,
    context: ActionContext,
  ): Promise<TokenResponse> {
    return this.tokens.refreshGrant(refreshToken, scopes, client, context);
  }

  clientCredentialsGrant(
    client: Client | undefined,
    scopes: readonly string[] | undefined,
    context: ActionContext,
  ): Promise<TokenResponse> {
    return this.tokens.clientCredentialsGrant(client, scopes, context);
  }

  /** POST /token's authorization_code grant (confidential clients authenticated, public ones named by client_id). */
  authorizationCodeGrant(exchange: CodeExchange, client: Client | undefined, context: ActionContext): Promise<TokenResponse> {
    return this.authorization.exchange(exchange, client, context);
  }

  /** The public client of this client_id (no secret to check), or undefined: any other id is no public client. */
  async publicClient(clientId: string): Promise<Client | undefined> {
    const client = clientId.length <= 128 ? await this.clients.byId(clientId) : undefined;
    return client?.type === 'public' ? client : undefined;
  }

  /** The client whose credentials these are, or InvalidClientError. */
  authenticateClient(credentials: ClientCredentials, context: ActionContext): Promise<Client> {
    return this.clients.authenticate(credentials, context.ip);
  }

  /** Open sign-up (REGISTRATION=open). */
  async signUp(input: SignUpInput, context: ActionContext): Promise<User> {
    if (this.config.registration !== 'open') throw new RegistrationClosedError();
    const actor = { ...context, actor: input.username.normalize('NFKC') };
    const user = await this.users.create(input, actor);
    await this.emailVerifications.afterSignUp(user, actor);
    return user;
  }

  /**
   * Checks a bearer token and the state behind it: a user token's session
   * must be live, its user enabled and the same account, and its password
   * unchanged since the token was issued; a client token's client must
   * still exist. The context's scopes are the token's that the user or
   * client still holds (heldScopes): a scope taken away is refused on the
   * next request. Answers come from the in-process cache where it can.
   */
  async authenticate(token: string): Promise<AuthContext> {
    const claims = await this.codec.verify(token);
    if (claims.sid !== undefined) {
      const sid = claims.sid;
      const session = await this.cache.session(sid, () => this.stores.sessions.find(sid));
      if (!session || !isSessionActive(session, this.clock.now())) throw new InvalidTokenError();
      const user = await this.cache.user(session.userId, () => this.stores.users.findById(session.userId));
      const context = userContext(claims, session, user);
      if (!context) throw new InvalidTokenError();
      return context;
    }
    if (claims.client_id !== undefined && claims.client_id === claims.sub) {
      const clientId = claims.client_id;
      const client = await this.cache.client(clientId, () => this.stores.clients.findById(clientId));
      if (!client) throw new InvalidTokenError();
      return { kind: 'client', client, claims, scopes: heldScopes(claims.scope, client.scopes) };
    }
    throw new InvalidTokenError();
  }

  /**
   * The user behind a user's token, answered at once from what this process holds (the token's
   * key; its session and user in the auth cache), for the hot path of GET /users/me: the same
   * decision as authenticate(). Undefined whenever authenticate() would do anything else — load
   * from the database, look up a key, or refuse the token — so the caller then goes the whole way,
   * which gives the same answer. With `rememberedOnly`, also undefined for a token this process
   * has not verified before (so the caller need not have checked its syntax: see AccessTokenCodec).
   */
  cachedTokenUser(token: string, rememberedOnly = false): User | undefined {
    let claims: AccessTokenClaims | undefined;
    try {
      claims = this.codec.verifyKnown(token, rememberedOnly);
    } catch {
      return undefined;
    }
    if (claims?.sid === undefined) return undefined;
    const session = this.cache.peekSession(claims.sid)?.value;
    if (!session || !isSessionActive(session, this.clock.now())) return undefined;
    const user = this.cache.peekUser(session.userId)?.value;
    return stillHolds(claims, session, user) ? user : undefined;
  }

  /**
   * A hosted page's browser session (src/http/pages, ADR 0027): the signed-in user behind the
   * refresh token the session cookie keeps, checked WITHOUT rotating it (the page never presents it
   * to /token). Undefined for a token that is malformed, unknown, retired (rotated by someone who
   * took it to /token), of a client, or whose session is over or whose user is disabled or gone.
   * The context's claims are those an access token of this session would carry if issued now; none
   * is issued, so the account changes a page makes go through the same core methods as the API's.
   */
  async browserSession(refreshToken: string): Promise<UserAuthContext | undefined> {
    const parsed = parseRefreshToken(refreshToken);
    const record = parsed && (await this.stores.sessions.findRefreshToken(parsed.id));
    if (!parsed || !record || record.rotatedAt !== null || !secretMatches(parsed.secret, record.secretHash)) return undefined;
    const now = this.clock.now();
    const session = await this.stores.sessions.find(record.sessionId);
    if (!session || session.clientId !== null || !isSessionActive(session, now)) return undefined;
    const user = await this.stores.users.findById(session.userId);
    if (!user || user.disabled) return undefined;
    const scopes = grantScopes(user.scopes, session.scopes);
    const authentication = sessionAuthentication(session);
    const seconds = Math.floor(now / 1000);
    const claims: AccessTokenClaims = {
      sub: user.username,
      scope: formatScopes(scopes),
      iss: this.config.issuer,
      iat: seconds,
      nbf: seconds,
      exp: seconds,
      jti: `session:${session.id}`,
      sid: session.id,
      ver: user.tokenVersion,
      amr: [...authentication.amr],
      acr: authentication.acr,
      auth_time: Math.floor(authentication.authTime / 1000),
    };
    return { kind: 'user', user, session, claims, scopes: new Set(scopes) };
  }

  /** Throws InsufficientScopeError unless the context holds every required scope. */
  requireScopes(context: AuthContext, required: readonly string[]): void {
    if (!required.every((scope) => context.scopes.has(scope))) throw new InsufficientScopeError(required);
  }

  /** RFC 9470 step-up: InsufficientUserAuthenticationError unless the token's login had a second factor / is recent enough. */
  requireLogin(context: AuthContext, required: LoginRequirement): void {
    requireLogin(context.claims, required, this.clock.now());
  }

  /**
   * OpenID Connect's UserInfo (Core §5.3): the claims of the token's user that its scopes ask for.
   * Only a token the code flow issued with `openid` may ask (a user's; a service client has none).
   */
  async userInfo(context: AuthContext): Promise<IdentityClaims> {
    const auth = this.requireUser(context);
    const scopes = auth.claims.scope.split(' ');
    if (!scopes.includes('openid')) throw new InsufficientScopeError(['openid']);
    return identityClaims(auth.user, scopes);
  }

  /** Routes about "me" need a user's token, not a service client's. */
  requireUser(context: AuthContext): UserAuthContext {
    if (context.kind !== 'user') throw new WrongPrincipalError();
    return context;
  }

  /** Ends this session, or with `global` every session of the user. */
  async logout(auth: UserAuthContext, global: boolean, context: ActionContext): Promise<void> {
    if (global) await this.sessions.revokeAll(auth.user, 'logout_global', context);
    else await this.sessions.revoke(auth.session, 'logout', context, auth.user.username);
  }

  /** The end_session_endpoint's request (/end-session), checked (end-session-request.ts): the ID token hint against our own keys, the client, its post-logout URI. */
  checkEndSession(query: EndSessionQuery): Promise<CheckedEndSession> {
    return checkEndSessionRequest(query, {
      issuer: this.config.issuer,
      algorithm: this.idTokens.algorithm,
      jwks: () => this.jwks(),
      client: (id) => this.clients.byId(id),
      clock: this.clock,
    });
  }

  /**
   * RP-initiated logout (the /end-session page, OpenID Connect RP-Initiated Logout 1.0): ends the
   * browser session as sign-out does (so the sessions its codes opened end, and their clients are
   * sent logout tokens), and records which client asked and whether the person confirmed.
   */
  async endSessionForClient(auth: UserAuthContext, client: Client | undefined, confirmed: boolean, context: ActionContext): Promise<void> {
    await this.sessions.revoke(auth.session, 'logout', context, auth.user.username);
    await this.audit.record({
      type: 'logout.rp_initiated',
      outcome: 'success',
      actor: auth.user.username,
      subject: client === undefined ? null : `client:${client.id}`,
      ip: context.ip,
      details: { session: auth.session.id, confirmed },
    });
  }

  /**
   * Needs the current password; ends every other session and every access token issued before.
   * A wrong current password counts as a failed login of the account from this address (the
   * same backoff, buckets and challenge as the password grant), so a stolen session cannot
   * guess the password faster than a login could.
   */
  async changeOwnPassword(
    auth: UserAuthContext,
    change: {
      readonly currentPassword: string;
      readonly newPassword: string;
      readonly challengeSolution?: string | undefined;
      /** As for the password grant: the tightest bucket, before the password is checked. */
      readonly onRateCheck?: ((check: RateCheck) => void) | undefined;
    },
    context: ActionContext,
  ): Promise<void> {
    const ticket = await this.checkCurrentPassword(auth, 'password_change', change, context);
    await this.users.setPassword(auth.user.username, change.newPassword, context, auth.session.id);
    if (ticket) await this.loginGuard?.clear(ticket);
  }

  /**
   * PUT /users/me/email: needs the current password, guarded as for a password change. Sends a
   * verification mail to the new address and a notice to the current one, which stays the
   * account's until the new one is verified (POST /email/verify).
   */
  async changeOwnEmail(
    auth: UserAuthContext,
    change: {
      readonly currentPassword: string;
      readonly email: string;
      readonly challengeSolution?: string | undefined;
      readonly onRateCheck?: ((check: RateCheck) => void) | undefined;
    },
    context: ActionContext,
  ): Promise<void> {
    const ticket = await this.checkCurrentPassword(auth, 'email_change', change, context);
    await this.emailVerifications.requestChange(auth.user, change.email, context);
    if (ticket) await this.loginGuard?.clear(ticket);
  }

  /**
   * The current password of a change the signed-in user asks for. A wrong one counts as a failed
   * login of the account from this address (the same backoff, buckets and challenge as the password
   * grant), so a stolen session cannot guess the password faster than a login could. Returns the
   * login guard's ticket for the caller to clear once the change is done.
   */
  private async checkCurrentPassword(
    auth: UserAuthContext,
    action: 'password_change' | 'email_change' | 'factor_change',
    attempt: CurrentPasswordAttempt,
    context: ActionContext,
  ): Promise<LoginTicket | undefined> {
    const user = auth.user;
    const admission = this.loginGuard
      ? await this.loginGuard.admit(
          action,
          {
            username: user.username,
            usernameKey: user.usernameKey,
            deviceToken: undefined,
            tokenVersion: user.tokenVersion,
            challengeSolution: attempt.challengeSolution,
          },
          context,
          async () => user.username,
        )
      : { ticket: undefined, rateCheck: await this.rateLimits.check({ action, username: user.username }, context) };
    if (admission.rateCheck) attempt.onRateCheck?.(admission.rateCheck);
    if (!(await this.hasher.verify(user.passwordHash, attempt.currentPassword))) {
      if (admission.ticket) await this.loginGuard?.failed(admission.ticket);
      await this.audit.record({
        type: CURRENT_PASSWORD_AUDIT[action],
        outcome: 'failure',
        actor: user.username,
        subject: user.username,
        ip: context.ip,
        details: { reason: 'wrong_current_password' },
      });
      throw new WrongPasswordError();
    }
    return admission.ticket;
  }

  /** POST /email/verify: the user, its address now the token's and verified. */
  verifyEmail(token: string, context: ActionContext): Promise<User> {
    return this.emailVerifications.verify(token, context);
  }

  /**
   * POST /email/verify/resend: `{ email }` or `{ username }`. Answers the same whether or not the
   * account exists or needs a mail; the mail (if any) is prepared after the answer. Throws
   * MailUnavailableError where mail cannot be sent, RateLimitedError past the client address's bucket.
   */
  resendEmailVerification(who: AccountReference, context: ActionContext): Promise<RateCheck | undefined> {
    return this.emailVerifications.resend(who, context);
  }

  /** The mail outbox's counts (GET /admin/mail/outbox); MailUnavailableError without a mail channel (a library given no mailer). */
  async mailOutboxStats(): Promise<OutboxStats> {
    if (!this.mailer) throw new MailUnavailableError();
    return this.mailer.outboxStats();
  }

  /**
   * POST /password/forgot: `{ email }` or `{ username }`. Answers the same whether or not the
   * account exists; the mail (if any) is prepared after the answer. Throws MailUnavailableError
   * where mail cannot be sent, RateLimitedError past the client address's bucket; returns the
   * address's check for the RateLimit-* headers.
   */
  requestPasswordReset(who: PasswordResetRequest, context: ActionContext): Promise<RateCheck | undefined> {
    return this.passwordResets.request(who, context);
  }

  /** POST /password/reset: InvalidResetTokenError for a token that is unknown, used or expired; ValidationError for a refused password. */
  resetPassword(token: string, newPassword: string, context: ActionContext): Promise<void> {
    return this.passwordResets.reset(token, newPassword, context);
  }

  /**
   * POST /signin/link: `{ email }` or `{ username }`. Answers the same whether or not the account
   * exists; the mail (if any) is prepared after the answer. Throws NotFoundError with
   * SIGN_IN_LINKS=off, MailUnavailableError where mail cannot be sent, RateLimitedError past the
   * client address's bucket; returns the address's check for the RateLimit-* headers.
   */
  requestSignInLink(who: AccountReference, context: ActionContext): Promise<RateCheck | undefined> {
    return this.signInLinks.request(who, context);
  }

  /**
   * The sign-in link grant of POST /token (SIGN_IN_LINK_GRANT): uses the link's token and opens a
   * session, with the password grant's answer. UnsupportedGrantTypeError with SIGN_IN_LINKS=off,
   * InvalidSignInLinkError for a token that cannot be used, InactiveUserError for a disabled user.
   * No login throttle and no challenge: the caller spends the client address's bucket only.
   */
  /** POST /signin/passkey: the options of a passkey login (PASSKEY_LOGIN=on; else NotFoundError). */
  passkeyLoginOptions(): Promise<PublicKeyCredentialRequestOptionsJSON> {
    if (!this.webauthn.passkeyLogin) throw new NotFoundError('Passkey login is off on this server (PASSKEY_LOGIN=off)');
    return this.webauthn.loginOptions();
  }

  /**
   * The passkey grant of POST /token (PASSKEY_GRANT, PASSKEY_LOGIN=on): an assertion to the
   * challenge of POST /signin/passkey, by a registered credential whose authenticator verified its
   * user, opens a session with `amr` ["hwk", "mfa"]. UnsupportedGrantTypeError with PASSKEY_LOGIN=off.
   */
  async passkeyGrant(
    response: AuthenticationResponseJSON,
    scopes: readonly string[] | undefined,
    client: Client | undefined,
    context: ActionContext,
  ): Promise<TokenResponse> {
    if (!this.webauthn.passkeyLogin) throw new UnsupportedGrantTypeError(`Unsupported grant_type: ${PASSKEY_GRANT}`);
    let user: User | undefined;
    try {
      const factor = await this.webauthn.verifyLogin(response);
      user = await this.stores.users.findById(factor.userId);
      if (!user) throw new InvalidWebAuthnResponseError('Not a registered passkey');
    } catch (error) {
      if (error instanceof InvalidWebAuthnResponseError) {
        await this.audit.record({
          type: 'login.failure',
          outcome: 'failure',
          subject: user?.username ?? null,
          ip: context.ip,
          details: { method: 'passkey', reason: error.message },
        });
      }
      throw error;
    }
    if (user.disabled) throw new InactiveUserError();
    if (this.config.requireVerifiedEmail && !user.emailVerified) throw new EmailNotVerifiedError();
    return this.tokens.provenLogin(user, scopes, client, 'passkey', { ...context, actor: user.username });
  }

  async signInWithLink(
    token: string,
    scopes: readonly string[] | undefined,
    client: Client | undefined,
    context: ActionContext,
  ): Promise<TokenResponse> {
    if (!this.signInLinks.enabled) throw new UnsupportedGrantTypeError(`Unsupported grant_type: ${SIGN_IN_LINK_GRANT}`);
    const user = await this.signInLinks.redeem(token, context);
    return this.tokens.provenLogin(user, scopes, client, 'sign_in_link', { ...context, actor: user.username });
  }

  /**
   * RFC 7009. Revoking a refresh token ends its session; so does revoking a
   * user's access token (a JWT cannot be recalled alone). Tokens that are
   * invalid, unknown, or issued to another client are ignored: the answer
   * is the same either way (§2.2).
   */
  async revokeToken(token: string, client: Client | undefined, context: ActionContext): Promise<void> {
    // The hint only saves look-ups (RFC 7009 §2.1: a token not found by its hint is searched for as every type);
    // a refresh token and a JWT cannot be mistaken for each other, so both kinds are always tried.
    const session = await this.sessionOfToken(token);
    if (!session) return;
    // A session opened by a confidential client can only be revoked by that client.
    if (session.clientId !== null && session.clientId !== client?.id) return;
    const user = await this.stores.users.findById(session.userId);
    await this.sessions.revoke(session, 'token_revoked', context, user?.username ?? null);
  }

  /** RFC 7662: only authenticated clients may ask. */
  async introspect(token: string, hint: TokenTypeHint, client: Client | undefined): Promise<IntrospectionResponse> {
    if (!client) throw new InvalidClientError('Client authentication is required for introspection');
    const inactive = { active: false } as const;
    const order: Array<'access_token' | 'refresh_token'> =
      hint === 'refresh_token' ? ['refresh_token', 'access_token'] : ['access_token', 'refresh_token'];
    for (const kind of order) {
      const answer = kind === 'access_token' ? await this.introspectAccessToken(token) : await this.introspectRefreshToken(token);
      if (answer) return answer;
    }
    return inactive;
  }

  /**
   * GET /revocations: sessions revoked after the cursor `since`, for resource
   * servers that verify tokens themselves. Only authenticated clients may read it.
   */
  revocationFeed(since: string | undefined, limit: string | undefined, client: Client | undefined): Promise<RevocationFeedResponse> {
    if (!client) throw new InvalidClientError('Client authentication is required for the revocation feed');
    return readRevocationFeed(this.stores.revocations, this.config, this.clock.now(), since, limit);
  }

  ready(): Promise<void> {
    return this.stores.health.ping();
  }

  /**
   * Before serving: with an asymmetric ALGORITHM, make sure a current and a next key exist, and load
   * them. With an HMAC ALGORITHM the RS256 keys of ID tokens are made when the first one is signed
   * (an RSA key takes a fifth of a second to make, and most deployments never sign one).
   */
  async start(): Promise<void> {
    if (!isHmacAlgorithm(this.config.algorithm)) await this.keys.ensure();
  }

  /**
   * RFC 7517 JWK Set of the key store's public keys, as the store says now: they verify access
   * tokens (asymmetric ALGORITHMs) and ID tokens. Public members only.
   */
  async jwks(): Promise<{ readonly keys: readonly object[] }> {
    if (!this.keyRing.isCurrent()) await this.keyRing.reload();
    return this.keyRing.jwks();
  }

  private async introspectAccessToken(token: string): Promise<IntrospectionResponse | undefined> {
    let auth: AuthContext;
    try {
      auth = await this.authenticate(token);
    } catch (error) {
      if (error instanceof PortcullisError) return undefined;
      throw error;
    }
    const { claims } = auth;
    return {
      active: true,
      token_type: 'Bearer',
      // What the token allows now: its scopes that the user or client still holds.
      scope: formatScopes([...auth.scopes]),
      sub: claims.sub,
      ...(auth.kind === 'user' ? { username: auth.user.username, sid: auth.session.id } : {}),
      ...(claims.client_id === undefined ? {} : { client_id: claims.client_id }),
      iss: claims.iss,
      ...(claims.aud === undefined ? {} : { aud: claims.aud }),
      exp: claims.exp,
      iat: claims.iat,
      nbf: claims.nbf,
      jti: claims.jti,
    };
  }

  private async introspectRefreshToken(token: string): Promise<IntrospectionResponse | undefined> {
    const parsed = parseRefreshToken(token);
    const record = parsed && (await this.stores.sessions.findRefreshToken(parsed.id));
    if (!parsed || !record || record.rotatedAt !== null || !secretMatches(parsed.secret, record.secretHash)) return undefined;
    const session = await this.stores.sessions.find(record.sessionId);
    if (!session || !isSessionActive(session, this.clock.now())) return undefined;
    const user = await this.stores.users.findById(session.userId);
    if (!user || user.disabled) return undefined;
    return {
      active: true,
      token_type: 'refresh_token',
      // What a refresh would grant now: the session's scopes that the user still holds.
      scope: formatScopes(grantScopes(user.scopes, session.scopes)),
      sub: user.username,
      username: user.username,
      sid: session.id,
      ...(session.clientId === null ? {} : { client_id: session.clientId }),
      iss: this.config.issuer,
      iat: Math.floor(record.createdAt / 1000),
      exp: Math.floor(Math.min(session.idleExpiresAt, session.expiresAt) / 1000),
    };
  }

  /** The live session a refresh or access token belongs to, if any. */
  private async sessionOfToken(token: string): Promise<Session | undefined> {
    const parsed = parseRefreshToken(token);
    if (parsed) {
      const record = await this.stores.sessions.findRefreshToken(parsed.id);
      if (record && secretMatches(parsed.secret, record.secretHash)) return this.stores.sessions.find(record.sessionId);
    }
    try {
      const claims = await this.codec.verify(token);
      return claims.sid === undefined ? undefined : await this.stores.sessions.find(claims.sid);
    } catch (error) {
      if (error instanceof InvalidTokenError) return undefined;
      throw error;
    }
  }
}

export function createPortcullis(deps: PortcullisDependencies): Portcullis {
  return new Portcullis(deps);
}

/** A user token's context, if the user behind its session still holds it; undefined otherwise. */
function userContext(claims: AccessTokenClaims, session: Session, user: User | undefined): UserAuthContext | undefined {
  return stillHolds(claims, session, user)
    ? { kind: 'user', user, session, claims, scopes: heldScopes(claims.scope, user.scopes) }
    : undefined;
}

/** Whether the user behind a token's session still holds it: enabled, the same account, no password change since, the same client. */
function stillHolds(claims: AccessTokenClaims, session: Session, user: User | undefined): user is User {
  return (
    user !== undefined &&
    !user.disabled &&
    claims.ver === user.tokenVersion &&
    // The name as issued is the usual case; otherwise compare as usernames compare.
    (claims.sub === user.username || usernameKey(claims.sub) === user.usernameKey) &&
    (claims.client_id ?? null) === session.clientId
  );
}
