/**
 * The grants of POST /token: password (opens a session), refresh_token
 * (rotates, with reuse detection and a grace window for retries), and
 * client_credentials (a service client's token, no session, no refresh). ADR 0004.
 */
import type { ActionContext } from '../action-context.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Invalidation } from '../auth-cache.js';
import { allowsGrant, type Client } from '../clients/client.js';
import type { Clock } from '../clock.js';
import { multiFactor, passkeyLogin, singleFactor, type FirstFactor } from '../factors/factor.js';
import type { FactorService, SecondFactorProof } from '../factors/factor-service.js';
import type { MfaTokens } from '../factors/mfa-tokens.js';
import { mfaRequiredFor, type MfaPolicy } from '../factors/mfa-policy.js';
import type { LoginGuard, LoginTicket } from '../login/login-guard.js';
import type { RateCheck, RateLimits } from '../rate-limit/rate-limits.js';
import {
  EmailNotVerifiedError,
  InactiveUserError,
  InvalidClientError,
  InvalidCredentialsError,
  InvalidRefreshTokenError,
  InvalidRequestError,
  InvalidScopeError,
  RefreshTokenReusedError,
  UnauthorizedClientError,
} from '../errors.js';
import type { PasswordHasher, RefreshTokenRecord, SessionStore, UserStore } from '../ports.js';
import { secretMatches } from '../secrets.js';
import { generateRefreshToken, parseRefreshToken, type SuccessorSealer } from '../sessions/refresh-token.js';
import { isSessionActive, sessionAuthentication, type Session } from '../sessions/session.js';
import type { LoginMethod, SessionService } from '../sessions/session-service.js';
import type { SessionAuthentication } from '../factors/factor.js';
import type { User } from '../users/user.js';
import { emailKey, loginKey } from '../users/user-fields.js';
import type { AccessTokenCodec } from './access-token.js';
import { formatScopes, grantScopes, grantUserScopes } from './scopes.js';

/** Longer than any address (RFC 5321): not looked up. */
const MAX_EMAIL_LENGTH = 320;

export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'bearer';
  readonly expires_in: number;
  readonly refresh_token?: string;
  readonly scope: string;
  /** An enrolment at login (MFA policy) confirmed the user's first factor: its ten recovery codes, shown this once. */
  readonly recovery_codes?: readonly string[];
  /** The code's exchange with the `openid` scope: the OpenID Connect ID token. */
  readonly id_token?: string;
}

/** A password login's tokens, and the device token for the client to keep (when the login defences are on). */
export interface PasswordLogin {
  readonly tokens: TokenResponse;
  readonly deviceToken: string | undefined;
}

/** The password grant's parameters. */
export interface PasswordGrantInput {
  readonly username: string;
  readonly password: string;
  readonly scopes?: readonly string[] | undefined;
  /** What the client kept from an earlier login (the device cookie). */
  readonly deviceToken?: string | undefined;
  /** The solution of the challenge a refused attempt was given (`challenge_solution`). */
  readonly challengeSolution?: string | undefined;
  /** Told the bucket closest to running out once the attempt is admitted, before the password is checked (RateLimit-* headers). */
  readonly onRateCheck?: ((check: RateCheck) => void) | undefined;
}

export interface TokenServiceDependencies {
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly sessionService: SessionService;
  readonly hasher: PasswordHasher;
  readonly codec: AccessTokenCodec;
  readonly sealer: SuccessorSealer;
  readonly clock: Clock;
  readonly audit: AuditLog;
  readonly invalidation: Invalidation;
  readonly refreshReuseGraceSeconds: number;
  /** Backoff, spraying, the buckets and the challenge; undefined = off. */
  readonly loginGuard?: LoginGuard;
  /** The buckets, used directly only when there is no login guard. */
  readonly rateLimits?: RateLimits;
  /** REQUIRE_VERIFIED_EMAIL: the password grant refuses an account without a verified address, once the password was right. */
  readonly requireVerifiedEmail?: boolean;
  /**
   * Second factors: a user with one, or whom the policy (MFA_POLICY, the user's flag; default
   * `optional`) requires to have one, gets `mfa_required` from the first step, and finishes with mfaGrant (ADR 0024).
   */
  readonly mfa?: { readonly factors: FactorService; readonly tokens: MfaTokens; readonly policy?: MfaPolicy };
}

export class TokenService {
  constructor(private readonly deps: TokenServiceDependencies) {}

  /**
   * An unknown user costs one dummy verification, the same work as a wrong
   * password; "Inactive user" is only said after the password was right. With
   * the login guard, a throttled attempt is refused before any hashing, and
   * unknown and known users go through the same bookkeeping. The username field also takes a
   * verified e-mail address (findLoginAccount); the guard then counts the account it names, so
   * typing the username or the address throttles the same account.
   */
  async passwordGrant(grant: PasswordGrantInput, client: Client | undefined, context: ActionContext): Promise<PasswordLogin> {
    const { users, hasher, audit, loginGuard } = this.deps;
    const { username, password } = grant;
    const { key, user } = await this.findLoginAccount(username);
    const admission = loginGuard
      ? await loginGuard.admit(
          'token',
          {
            username: user?.username ?? username,
            usernameKey: user?.usernameKey ?? key,
            deviceToken: grant.deviceToken,
            tokenVersion: user?.tokenVersion,
            challengeSolution: grant.challengeSolution,
          },
          context,
          async () => user?.username ?? null,
        )
      : {
          ticket: undefined,
          rateCheck: await this.deps.rateLimits?.check({ action: 'token', username: user?.username ?? username }, context),
        };
    if (admission.rateCheck) grant.onRateCheck?.(admission.rateCheck);
    const ticket = admission.ticket;
    const valid = user ? await hasher.verify(user.passwordHash, password) : await hasher.verifyDummy(password);
    if (!user || !valid) {
      if (ticket) await loginGuard?.failed(ticket);
      // The name is recorded only when it names an account: a password typed into the username field stays out of the log.
      await audit.record({
        type: 'login.failure',
        outcome: 'failure',
        subject: user ? user.username : null,
        ip: context.ip,
        details: { reason: user ? 'wrong_password' : 'unknown_user' },
      });
      throw new InvalidCredentialsError();
    }
    if (user.disabled) {
      await audit.record({
        type: 'login.failure',
        outcome: 'failure',
        subject: user.username,
        ip: context.ip,
        details: { reason: 'disabled' },
      });
      throw new InactiveUserError();
    }
    if (this.deps.requireVerifiedEmail === true && !user.emailVerified) {
      await audit.record({
        type: 'login.failure',
        outcome: 'failure',
        subject: user.username,
        ip: context.ip,
        details: { reason: user.email === null ? 'no_email' : 'email_not_verified' },
      });
      throw new EmailNotVerifiedError();
    }
    if (hasher.needsRehash(user.passwordHash)) {
      const upgraded = await hasher.hash(password);
      await users.setPasswordHash(user.usernameKey, upgraded, this.deps.clock.now(), user.passwordHash);
    }
    const scopes = grantScopes(user.scopes, grant.scopes);
    await this.requireSecondFactor(user, scopes, client, 'pwd', ticket, context);
    return this.openLogin(user, scopes, client, ticket, undefined, singleFactor('pwd', this.deps.clock.now()), context);
  }

  /**
   * The mfa grant (ADR 0024): the second step of a login whose first step answered `mfa_required`.
   * The session is opened as the password grant opens it, with `amr` of both steps and the login
   * guard's success bookkeeping of the first (its pair cleared, the device token issued).
   */
  async mfaGrant(mfaToken: string, proof: SecondFactorProof, client: Client | undefined, context: ActionContext): Promise<PasswordLogin> {
    const mfa = this.deps.mfa;
    if (!mfa) throw new InvalidRequestError('Second factors are not available');
    const done = await mfa.tokens.complete(mfaToken, proof, client?.id ?? null, context);
    const scopes = grantScopes(done.user.scopes, done.scopes);
    const authentication = multiFactor(done.firstFactor, done.secondFactor, this.deps.clock.now());
    const login = await this.openLogin(done.user, scopes, client, done.ticket, 'mfa', authentication, {
      ...context,
      actor: done.user.username,
    });
    return done.recoveryCodes === undefined ? login : { ...login, tokens: { ...login.tokens, recovery_codes: done.recoveryCodes } };
  }

  /**
   * Throws MfaRequiredError (with a new mfa_token) when the user has a confirmed second factor, or
   * when the policy requires one of them (then with `enrolmentRequired`: they enrol at login).
   */
  private async requireSecondFactor(
    user: User,
    scopes: readonly string[],
    client: Client | undefined,
    first: FirstFactor,
    ticket: LoginTicket | undefined,
    context: ActionContext,
  ): Promise<void> {
    const mfa = this.deps.mfa;
    if (!mfa) return;
    if (await mfa.factors.required(user)) throw await mfa.tokens.challenge(user, scopes, client?.id ?? null, first, ticket, context);
    if (mfaRequiredFor(mfa.policy ?? 'optional', user)) {
      throw await mfa.tokens.challenge(user, scopes, client?.id ?? null, first, ticket, context, true);
    }
  }

  /** A login's session and tokens; with a login guard ticket, the guard's success bookkeeping and the device token. */
  private async openLogin(
    user: User,
    scopes: readonly string[],
    client: Client | undefined,
    ticket: LoginTicket | undefined,
    method: LoginMethod | undefined,
    authentication: SessionAuthentication,
    context: ActionContext,
  ): Promise<PasswordLogin> {
    const { loginGuard } = this.deps;
    // Records login.success in the session's transaction.
    const { session, refreshToken } = await this.deps.sessionService.open(
      user,
      scopes,
      client?.id ?? null,
      context,
      method,
      authentication,
    );
    const issuedDevice = ticket ? await loginGuard?.succeeded(ticket, user.usernameKey, user.tokenVersion) : undefined;
    return { tokens: await this.respond(user, session, scopes, refreshToken), deviceToken: issuedDevice };
  }

  /**
   * The account a login's username field names: the account with that username, or else (for
   * something shaped like an address) the account that verified that address, compared
   * case-insensitively. A username always wins: usernames may contain @. `key` is the field read
   * as a username (undefined when it could be none).
   */
  private async findLoginAccount(username: string): Promise<{ key: string | undefined; user: User | undefined }> {
    const key = loginKey(username);
    const byName = key === undefined ? undefined : await this.deps.users.findByKey(key);
    if (byName || !username.includes('@')) return { key, user: byName };
    const address = username.trim();
    if (address.length > MAX_EMAIL_LENGTH) return { key, user: undefined };
    return { key, user: await this.deps.users.findByVerifiedEmail(emailKey(address)) };
  }

  /**
   * A login proved otherwise than by password (a sign-in link: core/login/sign-in-links.ts; a
   * passkey: core/factors/webauthn.ts; each checked the proof and that the user is enabled): a
   * session and its tokens, as the password grant gives them, with `login.success` naming the
   * method. No login guard: no password is guessed. A link is one factor, so a user with a second
   * factor gets `mfa_required`; a passkey that verified its user is two.
   */
  async provenLogin(
    user: User,
    requested: readonly string[] | undefined,
    client: Client | undefined,
    method: Exclude<LoginMethod, 'mfa'>,
    context: ActionContext,
  ): Promise<TokenResponse> {
    const scopes = grantScopes(user.scopes, requested);
    const now = this.deps.clock.now();
    if (method === 'sign_in_link') await this.requireSecondFactor(user, scopes, client, 'link', undefined, context);
    const authentication = method === 'passkey' ? passkeyLogin(now) : singleFactor('link', now);
    return (await this.openLogin(user, scopes, client, undefined, method, authentication, context)).tokens;
  }

  /**
   * The authorization code grant's login (core/authorization): a NEW session for the client, with
   * the browser session's amr/acr/auth_time, and its tokens; `login.success` names the method.
   */
  async codeLogin(
    user: User,
    scopes: readonly string[],
    client: Client,
    authentication: SessionAuthentication,
    context: ActionContext,
    browserSessionId?: string,
  ): Promise<{ readonly tokens: TokenResponse; readonly sessionId: string }> {
    const { session, refreshToken } = await this.deps.sessionService.open(
      user,
      scopes,
      client.id,
      context,
      'authorization_code',
      authentication,
      browserSessionId,
    );
    return { tokens: await this.respond(user, session, scopes, refreshToken), sessionId: session.id };
  }

  async refreshGrant(
    token: string,
    requested: readonly string[] | undefined,
    client: Client | undefined,
    context: ActionContext,
  ): Promise<TokenResponse> {
    const { sessions, clock } = this.deps;
    const parsed = parseRefreshToken(token);
    const record = parsed && (await sessions.findRefreshToken(parsed.id));
    if (!parsed || !record || !secretMatches(parsed.secret, record.secretHash)) throw new InvalidRefreshTokenError();

    const now = clock.now();
    const session = await sessions.find(record.sessionId);
    if (!session || !isSessionActive(session, now)) throw new InvalidRefreshTokenError('Refresh token expired or revoked');

    // A retired token is either an honest retry within the grace window or a replay: decide that first,
    // before any other check can turn a replay into a plain error that leaves the session alive.
    let successor: string | undefined;
    if (record.rotatedAt !== null) {
      successor = await this.retrySuccessor(record, now);
      if (successor === undefined) return this.reuseDetected(session, context);
    }

    if (session.clientId !== (client?.id ?? null)) throw new InvalidRefreshTokenError('Refresh token was issued to another client');
    const user = await this.deps.users.findById(session.userId);
    if (!user) throw new InvalidRefreshTokenError();
    if (user.disabled) throw new InactiveUserError();
    if (requested !== undefined && !requested.every((scope) => session.scopes.includes(scope))) {
      throw new InvalidScopeError('The requested scope exceeds the scope originally granted');
    }
    // A code flow's session keeps its identity scopes (openid for /userinfo) through its refreshes.
    const scopes = grantUserScopes(user.scopes, requested ?? session.scopes);
    if (successor !== undefined) return this.respond(user, session, scopes, successor);

    const next = generateRefreshToken();
    const rotated = await sessions.rotate({
      oldId: record.id,
      sessionId: session.id,
      next: { id: next.id, secretHash: next.secretHash },
      successorSealed: this.deps.sealer.seal(next.token, record.id),
      nowMs: now,
      idleExpiresAt: Math.min(now + this.deps.sessionService.idleMs, session.expiresAt),
    });
    if (rotated) {
      this.deps.invalidation.sessionChanged(session.id);
      return this.respond(user, session, scopes, next.token);
    }
    // Another request rotated this token a moment ago: answer as a retry would be answered.
    const raced = await sessions.findRefreshToken(record.id);
    successor = raced && (await this.retrySuccessor(raced, now));
    if (successor !== undefined) return this.respond(user, session, scopes, successor);
    return this.reuseDetected(session, context);
  }

  /** A retired refresh token came back outside the grace window: the session ends, for thief and owner alike. */
  private async reuseDetected(session: Session, context: ActionContext): Promise<never> {
    const user = await this.deps.users.findById(session.userId);
    await this.deps.sessionService.revoke(session, 'refresh_token_reused', context, user?.username ?? null);
    await this.deps.audit.record({
      type: 'refresh.reuse_detected',
      outcome: 'failure',
      subject: user?.username ?? null,
      ip: context.ip,
      details: { session: session.id },
    });
    throw new RefreshTokenReusedError();
  }

  async clientCredentialsGrant(
    client: Client | undefined,
    requested: readonly string[] | undefined,
    context: ActionContext,
  ): Promise<TokenResponse> {
    if (!client) throw new InvalidClientError('Client authentication is required for client_credentials');
    if (!allowsGrant(client, 'client_credentials'))
      throw new UnauthorizedClientError('This client is not registered for client_credentials');
    const scopes = grantScopes(client.scopes, requested);
    const issued = await this.deps.codec.issue(client.id, scopes, { clientId: client.id });
    await this.deps.audit.record({
      type: 'client.token_issued',
      outcome: 'success',
      actor: `client:${client.id}`,
      subject: `client:${client.id}`,
      ip: context.ip,
      details: { scope: formatScopes(scopes) },
    });
    return { access_token: issued.token, token_type: 'bearer', expires_in: issued.expiresInSeconds, scope: formatScopes(scopes) };
  }

  /**
   * Within the grace window after a rotation, the retired token still gets
   * the session's current refresh token (a lost response, two tabs), as long
   * as that successor has not itself been rotated.
   */
  private async retrySuccessor(record: RefreshTokenRecord, now: number): Promise<string | undefined> {
    if (record.rotatedAt === null || record.successorId === null || record.successorSealed === null) return undefined;
    // REFRESH_REUSE_GRACE_SECONDS=0 is "no grace" (README). The elapsed-time test alone does not say so:
    // `now` is read when this request starts, so a concurrent request that rotated the token a moment
    // later stamps rotatedAt after it (now - rotatedAt <= 0), and the loser of the race was handed the
    // successor too: two 200s for one refresh token.
    if (this.deps.refreshReuseGraceSeconds === 0) return undefined;
    if (now - record.rotatedAt > this.deps.refreshReuseGraceSeconds * 1000) return undefined;
    const successor = await this.deps.sessions.findRefreshToken(record.successorId);
    if (!successor || successor.rotatedAt !== null) return undefined;
    return this.deps.sealer.open(record.successorSealed, record.id);
  }

  private async respond(user: User, session: Session, scopes: readonly string[], refreshToken: string): Promise<TokenResponse> {
    const authentication = sessionAuthentication(session);
    const issued = await this.deps.codec.issue(user.username, scopes, {
      authentication,
      sessionId: session.id,
      tokenVersion: user.tokenVersion,
      ...(user.email === null ? {} : { email: user.email, emailVerified: user.emailVerified }),
      ...(session.clientId === null ? {} : { clientId: session.clientId }),
    });
    return {
      access_token: issued.token,
      token_type: 'bearer',
      expires_in: issued.expiresInSeconds,
      refresh_token: refreshToken,
      scope: formatScopes(scopes),
    };
  }
}
