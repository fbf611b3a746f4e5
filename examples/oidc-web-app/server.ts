/**
 * A sample web app that signs its users in with Portcullis through OpenID Connect, with panva's
 * certified relying party `openid-client` (v6): discovery of the issuer, the authorization code
 * flow with PKCE (S256), `state` and `nonce`, the ID token's checks, `/userinfo`, and sign-out
 * (RP-initiated logout when the provider offers it), and back-channel logout (Portcullis tells the
 * app when a person's session there ends; the logout token is verified with jose). Server-rendered
 * HTML on node:http; what the app knows of a user lives in a server-side session, keyed by a random
 * cookie.
 *
 *   ISSUER=http://127.0.0.1:8000 CLIENT_ID=pc_... CLIENT_SECRET=... node --import tsx examples/oidc-web-app/server.ts
 *
 * Environment:
 *   ISSUER         Portcullis's ISSUER (required): discovery is ISSUER/.well-known/openid-configuration
 *   CLIENT_ID      the client registered for this app (required)
 *   CLIENT_SECRET  its secret; leave it out for a public client (then PKCE alone proves the app)
 *   APP_URL        where browsers reach this app (default http://HOST:PORT); its /callback, / and
 *                  /backchannel-logout are the redirect URI, post-logout redirect URI and
 *                  back-channel logout URI to register
 *   HOST, PORT     where to listen (127.0.0.1, 3000; PORT=0 picks a free port)
 *
 * An http:// ISSUER is accepted only on this machine (127.0.0.1, localhost, [::1]): openid-client
 * refuses plain HTTP unless told otherwise (`allowInsecureRequests`), and that is for development
 * only. Prints one JSON line `{"url": "http://HOST:PORT"}` on stdout once it listens.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';

export interface AppOptions {
  /** Portcullis's ISSUER, exactly (the discovery document's `issuer` must equal it). */
  readonly issuer: string;
  readonly clientId: string;
  /** Absent: a public client (no secret; token endpoint authentication `none`). */
  readonly clientSecret?: string;
  /** Where browsers reach the app; default http://HOST:PORT once it listens. */
  readonly appUrl?: string;
  /** Default 3000; 0 picks a free port. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
}

export interface RunningApp {
  /** The app's URL (APP_URL, or http://HOST:PORT). */
  readonly url: string;
  /** The URIs to register for the client: `redirect_uris` and `post_logout_redirect_uris`. */
  readonly redirectUri: string;
  readonly postLogoutRedirectUri: string;
  /** The `backchannel_logout_uri` to register, for Portcullis to say that a person's session there ended. */
  readonly backchannelLogoutUri: string;
  /** Emits `backchannel-logout` ({ sid, ended }) once a logout token has been verified and its sessions ended. */
  readonly events: EventEmitter;
  close(): Promise<void>;
}

/** The scopes asked for: OpenID Connect, and the user's name and e-mail address. */
const SCOPE = 'openid profile email';
const COOKIE = 'webapp_session';
/** A sign-in started at /login must come back to /callback within this. */
const LOGIN_TTL_MS = 10 * 60_000;
/** How long the app keeps a user signed in (its own session; Portcullis's tokens may end sooner). */
const SESSION_TTL_MS = 8 * 60 * 60_000;

/** A sign-in under way: what /callback checks the answer against. */
interface PendingLogin {
  readonly codeVerifier: string;
  readonly state: string;
  readonly nonce: string;
}

/** A signed-in user: the ID token's claims (validated by openid-client) and the tokens. */
interface SignedIn {
  readonly claims: oidc.IDToken;
  readonly idToken: string;
  readonly accessToken: string;
  readonly refreshToken: string | undefined;
}

interface AppSession {
  readonly expiresAt: number;
  readonly login?: PendingLogin;
  readonly user?: SignedIn;
}

/** OpenID Connect Back-Channel Logout 1.0 §2.4: the event a logout token must carry. */
const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** A logout token is a few hundred bytes; the form it comes in is refused past this. */
const MAX_LOGOUT_BODY = 16 * 1024;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** openid-client's discovery of `issuer`, with plain HTTP allowed for a Portcullis on this machine only. */
async function discover(options: AppOptions): Promise<oidc.Configuration> {
  const issuer = new URL(options.issuer);
  const insecure = issuer.protocol === 'http:';
  if (insecure && !LOOPBACK.has(issuer.hostname)) {
    throw new Error(`ISSUER must be https:// (http:// only for a Portcullis on this machine, for development): ${options.issuer}`);
  }
  const authentication = options.clientSecret === undefined ? oidc.None() : oidc.ClientSecretBasic(options.clientSecret);
  return oidc.discovery(issuer, options.clientId, undefined, authentication, {
    // Development only: tokens and codes travel unencrypted, which is tolerable on the loopback interface alone.
    ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
  });
}

const escapeHtml = (value: unknown): string =>
  String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Example web app</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<header><p class="brand">Example web app</p></header>
<main>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>`;
}

const STYLE = `body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #1a1a1a; }
.brand { font-weight: 600; color: #3a3a3a; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
a, button { font: inherit; }
button { padding: 0.4rem 1rem; }
.error { color: #a00000; }
`;

const TIMES = new Set(['auth_time', 'updated_at', 'iat', 'exp']);

function claimList(claims: Record<string, unknown>, names: readonly string[]): string {
  const rows = names
    .filter((name) => claims[name] !== undefined)
    .map((name) => {
      const value = claims[name];
      // auth_time and updated_at are seconds since the epoch (OpenID Connect Core §2, §5.1).
      const shown =
        TIMES.has(name) && typeof value === 'number'
          ? new Date(value * 1000).toISOString()
          : Array.isArray(value)
            ? value.join(' ')
            : value;
      return `<dt>${escapeHtml(name)}</dt><dd>${escapeHtml(shown)}</dd>`;
    });
  return `<dl>${rows.join('')}</dl>`;
}

function sessionIdOf(request: IncomingMessage): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === COOKIE) return value.join('=');
  }
  return undefined;
}

/** Starts the app: discovers the issuer first (so a wrong ISSUER fails here, not at the first sign-in), then listens. */
export async function startApp(options: AppOptions): Promise<RunningApp> {
  const config = await discover(options);
  const issuerOrigin = new URL(config.serverMetadata().issuer).origin;
  const sessions = new Map<string, AppSession>();
  let appUrl = options.appUrl?.replace(/\/+$/, '');
  const secureCookie = () => appUrl!.startsWith('https:');
  const redirectUri = () => `${appUrl}/callback`;
  const postLogoutRedirectUri = () => `${appUrl}/`;
  const backchannelLogoutUri = () => `${appUrl}/backchannel-logout`;
  const events = new EventEmitter();
  const metadata = config.serverMetadata();
  // The provider's keys, fetched when a logout token first comes (and again for a kid not seen yet).
  const jwks = metadata.jwks_uri === undefined ? undefined : createRemoteJWKSet(new URL(metadata.jwks_uri));

  // The pages load nothing but their style sheet; forms go to the app, and sign-out's redirect to Portcullis
  // (Chromium applies form-action to the redirects after a form's submission).
  const csp = `default-src 'none'; style-src 'self'; form-action 'self' ${issuerOrigin}; frame-ancestors 'none'; base-uri 'none'`;

  function sessionOf(request: IncomingMessage): [string, AppSession] | undefined {
    const id = sessionIdOf(request);
    const session = id === undefined ? undefined : sessions.get(id);
    if (id === undefined || session === undefined) return undefined;
    if (session.expiresAt <= Date.now()) {
      sessions.delete(id);
      return undefined;
    }
    return [id, session];
  }

  /** A new session under a new random id: the id changes at every sign-in and sign-out, so a planted cookie is worth nothing. */
  function newSession(response: ServerResponse, session: AppSession): void {
    const now = Date.now();
    // An in-memory store: forget what has expired (a real app keeps sessions in its database or Redis).
    for (const [id, old] of sessions) if (old.expiresAt <= now) sessions.delete(id);
    const id = randomBytes(32).toString('base64url');
    sessions.set(id, session);
    const maxAge = Math.floor((session.expiresAt - now) / 1000);
    // HttpOnly: no script reads it. SameSite=Lax: sent on the top-level GET back from Portcullis to /callback,
    // not on another site's POST (so a foreign form cannot sign the user out).
    response.setHeader(
      'set-cookie',
      `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${secureCookie() ? '; Secure' : ''}`,
    );
  }

  function clearCookie(response: ServerResponse): void {
    response.setHeader('set-cookie', `${COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0${secureCookie() ? '; Secure' : ''}`);
  }

  function html(response: ServerResponse, status: number, title: string, body: string): void {
    response.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': csp,
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
    });
    response.end(page(title, body));
  }

  function redirect(response: ServerResponse, location: string): void {
    response.writeHead(303, { location, 'cache-control': 'no-store' });
    response.end();
  }

  async function home(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const user = sessionOf(request)?.[1].user;
    if (!user) {
      html(response, 200, 'Welcome', '<p>You are not signed in.</p>\n<p><a href="/login">Sign in</a></p>');
      return;
    }
    const name = user.claims.preferred_username ?? user.claims.sub;
    let userInfo: string;
    try {
      // The access token at /userinfo; openid-client checks that its `sub` is the ID token's.
      const info = await oidc.fetchUserInfo(config, user.accessToken, user.claims.sub);
      userInfo = claimList(info, ['sub', 'preferred_username', 'name', 'email', 'email_verified', 'updated_at']);
    } catch (error) {
      // E.g. the access token expired (ACCESS_TOKEN_TTL) or its session was ended at Portcullis.
      userInfo = `<p class="error">Portcullis did not answer the user's claims: ${escapeHtml(error instanceof Error ? error.message : error)}</p>`;
    }
    html(
      response,
      200,
      'Welcome',
      `<p>Signed in as <strong>${escapeHtml(name)}</strong>.</p>
<h2>From the ID token</h2>
${claimList(user.claims, ['sub', 'preferred_username', 'name', 'email', 'email_verified', 'amr', 'acr', 'auth_time'])}
<h2>From /userinfo</h2>
${userInfo}
<form method="post" action="/logout"><button type="submit">Sign out</button></form>`,
    );
  }

  async function login(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (sessionOf(request)?.[1].user) return redirect(response, '/');
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    newSession(response, { expiresAt: Date.now() + LOGIN_TTL_MS, login: { codeVerifier, state, nonce } });
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri(),
      scope: SCOPE,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    redirect(response, url.href);
  }

  async function callback(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const current = sessionOf(request);
    const pending = current?.[1].login;
    if (!current || !pending) {
      html(
        response,
        400,
        'Sign-in failed',
        '<p>This sign-in was not started here, or took too long.</p>\n<p><a href="/login">Sign in again</a></p>',
      );
      return;
    }
    sessions.delete(current[0]); // one answer per sign-in
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      // The URL as the browser reached it (APP_URL's origin, not the Host header): code, state, iss.
      tokens = await oidc.authorizationCodeGrant(config, new URL(request.url!, appUrl), {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
    } catch (error) {
      clearCookie(response);
      // access_denied (the user said no at consent), a forged or stale answer, a code Portcullis refused.
      const why =
        error instanceof oidc.AuthorizationResponseError
          ? `${error.error}${error.error_description ? `: ${error.error_description}` : ''}`
          : error instanceof Error
            ? error.message
            : String(error);
      html(response, 400, 'Sign-in failed', `<p class="error">${escapeHtml(why)}</p>\n<p><a href="/">Back</a></p>`);
      return;
    }
    newSession(response, {
      expiresAt: Date.now() + SESSION_TTL_MS,
      user: { claims: tokens.claims()!, idToken: tokens.id_token!, accessToken: tokens.access_token, refreshToken: tokens.refresh_token },
    });
    redirect(response, '/');
  }

  async function logout(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const current = sessionOf(request);
    if (current) sessions.delete(current[0]);
    clearCookie(response);
    const user = current?.[1].user;
    if (!user) return redirect(response, '/');
    if (user.refreshToken !== undefined && metadata.revocation_endpoint !== undefined) {
      // Ends the session the code's exchange opened at Portcullis, so its tokens stop working now.
      await oidc.tokenRevocation(config, user.refreshToken, { token_type_hint: 'refresh_token' }).catch((error: unknown) => {
        console.error(`oidc-web-app: revoking the refresh token failed: ${error instanceof Error ? error.message : String(error)}`);
      });
    }
    if (metadata.end_session_endpoint === undefined) return redirect(response, '/'); // signed out of this app only
    // RP-initiated logout: Portcullis ends its own browser session too, then sends the browser back here.
    const url = oidc.buildEndSessionUrl(config, { id_token_hint: user.idToken, post_logout_redirect_uri: postLogoutRedirectUri() });
    redirect(response, url.href);
  }

  /**
   * Back-channel logout: Portcullis POSTs a logout token here when a person's session there ends
   * (signed out on its pages, on another app's sign-out, by an admin). The token is verified like
   * an ID token (jose against the provider's JWKS, iss, aud, typ logout+jwt) and must carry the
   * back-channel event and no nonce (§2.6); every app session signed in through that `sid` ends.
   */
  async function backchannelLogout(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const refuse = (why: string) => {
      response.writeHead(400, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(JSON.stringify({ error: 'invalid_request', error_description: why }));
    };
    if (!jwks) return refuse('the provider publishes no keys');
    if (!/^application\/x-www-form-urlencoded\b/i.test(request.headers['content-type'] ?? '')) return refuse('a form is expected');
    let body = '';
    for await (const chunk of request) {
      body += String(chunk);
      if (body.length > MAX_LOGOUT_BODY) return refuse('too large');
    }
    const token = new URLSearchParams(body).get('logout_token');
    if (!token) return refuse('logout_token is missing');
    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await jwtVerify(token, jwks, {
        issuer: metadata.issuer,
        audience: options.clientId,
        typ: 'logout+jwt',
        algorithms: metadata.id_token_signing_alg_values_supported ?? ['RS256'],
        requiredClaims: ['iat', 'jti', 'events'],
      }));
    } catch (error) {
      return refuse(`the logout token is not valid: ${error instanceof Error ? error.message : String(error)}`);
    }
    const event = (claims.events as Record<string, unknown> | undefined)?.[BACKCHANNEL_LOGOUT_EVENT];
    if (typeof event !== 'object' || event === null) return refuse('not a back-channel logout event');
    if (claims.nonce !== undefined) return refuse('a logout token carries no nonce');
    const { sid, sub } = claims;
    if (typeof sid !== 'string' && typeof sub !== 'string') return refuse('neither sid nor sub');
    let ended = 0;
    for (const [id, session] of sessions) {
      const user = session.user;
      if (!user) continue;
      // With a sid: the sessions of that sign-in at the provider; with sub alone: all of that person's.
      if ((typeof sid === 'string' ? user.claims.sid === sid : true) && (typeof sub === 'string' ? user.claims.sub === sub : true)) {
        sessions.delete(id);
        ended += 1;
      }
    }
    response.writeHead(200, { 'cache-control': 'no-store' });
    response.end();
    events.emit('backchannel-logout', { sid, ended });
  }

  const routes: Readonly<Record<string, (request: IncomingMessage, response: ServerResponse) => Promise<void>>> = {
    'GET /': home,
    'GET /login': login,
    'GET /callback': callback,
    'POST /logout': logout,
    'POST /backchannel-logout': backchannelLogout,
  };

  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://app.invalid').pathname;
    if (request.method === 'GET' && path === '/style.css') {
      response.writeHead(200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'max-age=300' });
      response.end(STYLE);
      return;
    }
    const route = routes[`${request.method} ${path}`];
    if (!route) {
      html(response, 404, 'Not found', '<p><a href="/">Home</a></p>');
      return;
    }
    route(request, response).catch((error: unknown) => {
      console.error('oidc-web-app:', error);
      if (!response.headersSent) html(response, 500, 'Something went wrong', '<p><a href="/">Home</a></p>');
      else response.end();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  appUrl ??= `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url: appUrl,
    redirectUri: redirectUri(),
    postLogoutRedirectUri: postLogoutRedirectUri(),
    backchannelLogoutUri: backchannelLogoutUri(),
    events,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { ISSUER, CLIENT_ID, CLIENT_SECRET, APP_URL, HOST, PORT } = process.env;
  if (!ISSUER || !CLIENT_ID) {
    console.error('oidc-web-app: set ISSUER (Portcullis, e.g. http://127.0.0.1:8000) and CLIENT_ID (and CLIENT_SECRET)');
    process.exit(1);
  }
  try {
    const app = await startApp({
      issuer: ISSUER,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET || undefined,
      appUrl: APP_URL || undefined,
      host: HOST || undefined,
      port: PORT === undefined || PORT === '' ? undefined : Number(PORT),
    });
    if (ISSUER.startsWith('http:')) console.error('oidc-web-app: plain HTTP to the issuer is allowed for development only');
    console.log(JSON.stringify({ url: app.url }));
  } catch (error) {
    console.error(`oidc-web-app: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
