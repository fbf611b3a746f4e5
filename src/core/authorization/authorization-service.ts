/**
 * The authorization code flow on our own token service (ADR 0028): what /authorize does with a
 * checked request and the browser's session (sign in, ask consent, or issue a code), consent
 * remembered per user and client, and the code's exchange at POST /token, which opens a NEW
 * session for the client with the browser session's amr/acr/auth_time and a rotating refresh
 * token like every other. A code that comes back revokes the session its first exchange opened.
 */
import type { ActionContext } from '../action-context.js';
import type { AuditLog } from '../audit/audit-log.js';
import { allowsGrant, type Client } from '../clients/client.js';
import type { Clock } from '../clock.js';
import { InvalidClientError, InvalidGrantError, UnauthorizedClientError } from '../errors.js';
import type { IdTokens } from '../oidc/id-tokens.js';
import type { UserAuthContext } from '../portcullis.js';
import type { SessionStore, UserStore } from '../ports.js';
import { hashSecret, randomToken } from '../secrets.js';
import { sessionAuthentication } from '../sessions/session.js';
import type { SessionService } from '../sessions/session-service.js';
import { grantUserScopes } from '../tokens/scopes.js';
import type { TokenResponse, TokenService } from '../tokens/token-service.js';
import {
  AUTHORIZATION_CODE_RETENTION_MS,
  AUTHORIZATION_CODE_TTL_MS,
  verifierMatches,
  type AuthorizationStore,
} from './authorization-code.js';
import { redirectWith, type AuthorizationErrorCode, type AuthorizationRequest } from './authorization-request.js';

/** What /authorize does next. */
export type AuthorizationStep =
  | { readonly kind: 'sign_in' }
  | { readonly kind: 'consent' }
  /** To the client: a code, or an error (RFC 6749 §4.1.2, §4.1.2.1). */
  | { readonly kind: 'redirect'; readonly location: string };

export interface CodeExchange {
  readonly code: string;
  readonly redirectUri: string | undefined;
  readonly codeVerifier: string | undefined;
}

export interface AuthorizationServiceDependencies {
  readonly store: AuthorizationStore;
  readonly users: UserStore;
  readonly sessions: SessionService;
  readonly sessionStore: SessionStore;
  readonly tokens: TokenService;
  readonly clock: Clock;
  readonly audit: AuditLog;
  readonly issuer: string;
  readonly idTokens: IdTokens;
}

export class AuthorizationService {
  constructor(private readonly deps: AuthorizationServiceDependencies) {}

  /** The redirect that tells the client no (RFC 6749 §4.1.2.1), with `iss` (RFC 9207). */
  refusal(redirectUri: string, state: string | undefined, error: AuthorizationErrorCode, description: string): string {
    return redirectWith(redirectUri, { error, error_description: description, state, iss: this.deps.issuer });
  }

  /** Whether the browser's session answers the request: sign in first, ask consent, or go back to the client. */
  async next(request: AuthorizationRequest, auth: UserAuthContext | undefined, context: ActionContext): Promise<AuthorizationStep> {
    const none = request.prompts.has('none');
    const refuse = (error: AuthorizationErrorCode, description: string): AuthorizationStep => ({
      kind: 'redirect',
      location: this.refusal(request.redirectUri, request.state, error, description),
    });
    if (!auth || request.prompts.has('login') || this.tooOld(auth, request.maxAgeSeconds)) {
      return none ? refuse('login_required', 'The user is not signed in') : { kind: 'sign_in' };
    }
    if (await this.needsConsent(request, auth)) {
      return none ? refuse('consent_required', 'The user has not allowed this client these scopes') : { kind: 'consent' };
    }
    return { kind: 'redirect', location: await this.issue(request, auth, context) };
  }

  /** The user said yes on the consent page: remembered, then a code. */
  async consent(request: AuthorizationRequest, auth: UserAuthContext, context: ActionContext): Promise<string> {
    await this.deps.store.saveConsent(auth.user.id, request.client.id, request.scopes, this.deps.clock.now());
    await this.deps.audit.record({
      type: 'authorization.consent_given',
      outcome: 'success',
      actor: auth.user.username,
      subject: `client:${request.client.id}`,
      ip: context.ip,
      details: { scope: request.scopes.join(' ') },
    });
    return this.issue(request, auth, context);
  }

  private tooOld(auth: UserAuthContext, maxAgeSeconds: number | undefined): boolean {
    if (maxAgeSeconds === undefined) return false;
    return this.deps.clock.now() - sessionAuthentication(auth.session).authTime > maxAgeSeconds * 1000;
  }

  private async needsConsent(request: AuthorizationRequest, auth: UserAuthContext): Promise<boolean> {
    if (request.client.firstParty) return false;
    if (request.prompts.has('consent')) return true;
    const allowed = await this.deps.store.consentedScopes(auth.user.id, request.client.id);
    return allowed === undefined || !request.scopes.every((scope) => allowed.includes(scope));
  }

  /** A code for this browser session's user, and the redirect that carries it. */
  private async issue(request: AuthorizationRequest, auth: UserAuthContext, context: ActionContext): Promise<string> {
    const code = randomToken(32);
    const now = this.deps.clock.now();
    await this.deps.store.saveCode(
      {
        codeHash: hashSecret(code),
        clientId: request.client.id,
        userId: auth.user.id,
        redirectUri: request.redirectUri,
        redirectUriGiven: request.redirectUriGiven,
        codeChallenge: request.codeChallenge,
        scopes: request.scopes,
        nonce: request.nonce ?? null,
        browserSessionId: auth.session.id,
        authentication: sessionAuthentication(auth.session),
        createdAt: now,
        expiresAt: now + AUTHORIZATION_CODE_TTL_MS,
        usedAt: null,
        sessionId: null,
      },
      now - AUTHORIZATION_CODE_RETENTION_MS,
    );
    await this.deps.audit.record({
      type: 'authorization.code_issued',
      outcome: 'success',
      actor: auth.user.username,
      subject: `client:${request.client.id}`,
      ip: context.ip,
      details: { scope: request.scopes.join(' ') },
    });
    return redirectWith(request.redirectUri, { code, state: request.state, iss: this.deps.issuer });
  }

  /**
   * POST /token's authorization_code grant (RFC 6749 §4.1.3, RFC 7636 §4.6). Every mismatch is the
   * same invalid_grant; a code used before also ends the session its first exchange opened.
   */
  async exchange(exchange: CodeExchange, client: Client | undefined, context: ActionContext): Promise<TokenResponse> {
    if (!client) throw new InvalidClientError('Client authentication, or client_id for a public client, is required');
    if (!allowsGrant(client, 'authorization_code'))
      throw new UnauthorizedClientError('This client is not registered for the authorization code grant');
    const now = this.deps.clock.now();
    const codeHash = hashSecret(exchange.code);
    const use = await this.deps.store.useCode(codeHash, now);
    if (!use) throw new InvalidGrantError();
    const { record } = use;
    if (!use.firstUse) {
      await this.codeReused(record.sessionId, record.userId, client, context);
      throw new InvalidGrantError('Authorization code already used');
    }
    if (now >= record.expiresAt) throw new InvalidGrantError('Authorization code expired');
    if (record.clientId !== client.id) throw new InvalidGrantError('Authorization code was issued to another client');
    // RFC 6749 §4.1.3: the same redirect_uri when the request had one; when it was left out, none or the same.
    const redirectMatches = record.redirectUriGiven
      ? exchange.redirectUri === record.redirectUri
      : exchange.redirectUri === undefined || exchange.redirectUri === record.redirectUri;
    if (!redirectMatches) throw new InvalidGrantError('redirect_uri does not match the authorization request');
    if (exchange.codeVerifier === undefined || !verifierMatches(exchange.codeVerifier, record.codeChallenge)) {
      throw new InvalidGrantError('code_verifier does not match the code_challenge');
    }
    const user = await this.deps.users.findById(record.userId);
    if (!user || user.disabled) throw new InvalidGrantError('The user is no longer active');
    const scopes = grantUserScopes(user.scopes, record.scopes);
    const login = await this.deps.tokens.codeLogin(
      user,
      scopes,
      client,
      record.authentication,
      { ...context, actor: user.username },
      record.browserSessionId,
    );
    await this.deps.store.setCodeSession(codeHash, login.sessionId);
    const { refresh_token: refreshToken, ...tokens } = login.tokens;
    const idToken = scopes.includes('openid')
      ? await this.deps.idTokens.idToken({
          user,
          clientId: client.id,
          scopes,
          nonce: record.nonce,
          authentication: record.authentication,
          browserSessionId: record.browserSessionId,
        })
      : undefined;
    return {
      ...tokens,
      ...(allowsGrant(client, 'refresh_token') && refreshToken !== undefined ? { refresh_token: refreshToken } : {}),
      ...(idToken === undefined ? {} : { id_token: idToken }),
    };
  }

  private async codeReused(sessionId: string | null, userId: string, client: Client, context: ActionContext): Promise<void> {
    const session = sessionId === null ? undefined : await this.deps.sessionStore.find(sessionId);
    const user = await this.deps.users.findById(userId);
    if (session && session.revokedAt === null) {
      await this.deps.sessions.revoke(session, 'authorization_code_reused', context, user?.username ?? null);
    }
    await this.deps.audit.record({
      type: 'authorization.code_reused',
      outcome: 'failure',
      actor: `client:${client.id}`,
      subject: user?.username ?? null,
      ip: context.ip,
      details: { session: sessionId },
    });
  }
}
