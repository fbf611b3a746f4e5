/**
 * OpenID Connect over real HTTP (issue 16, ADR 0028), driven by panva's certified relying party
 * `openid-client`: discovery, the authorization code flow with PKCE, state and nonce, the ID token's
 * validation (signature against the JWKS, iss, aud, exp, iat, nonce), userinfo with the subject
 * check, and refresh; and a second, independent one, `oauth4webapi`, after a sign-in with a TOTP
 * second step (amr, acr, auth_time). The browser part is the cookie-keeping PageClient on the hosted pages. The
 * ID token is then checked on its own with `jose` (header, claims, expiry, audience), and the
 * boundaries: an ID token is no access token, a token without `openid` gets no ID token and no
 * userinfo, and without the hosted pages there is no OpenID provider to discover.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import * as oauth from 'oauth4webapi';
import * as oidc from 'openid-client';
import { URI, type TOTP } from 'otpauth';
import { fixedClock } from '../../src/core/clock.js';
import { PageClient } from '../helpers/page-client.js';
import { bearer, jsonPost, login, startTestServer, type TestServer } from '../helpers/server.js';

const ISSUER = 'http://portcullis.test';
const PASSWORD = 'correct horse battery staple 42';
const CALLBACK = 'https://app.example/callback';

interface Registered {
  readonly client_id: string;
  readonly client_secret?: string;
}

const unescape = (value: string) =>
  value
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'");

/** A relying party of `server` (whose ISSUER is http://portcullis.test): openid-client's discovery, its requests sent to the server. */
function relyingParty(server: TestServer, client: Registered): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(ISSUER), client.client_id, client.client_secret, undefined, {
    execute: [oidc.allowInsecureRequests],
    [oidc.customFetch]: (url, options) => fetch(url.replace(ISSUER, server.url), options as RequestInit),
  });
}

/** openid-client's authorization request with PKCE S256 for `scope` (and `more`); the verifier is the code's exchange's. */
async function authorizationRequest(
  config: oidc.Configuration,
  scope: string,
  more: Record<string, string> = {},
): Promise<{ readonly url: URL; readonly verifier: string }> {
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...more,
  });
  return { url, verifier };
}

async function registerClient(server: TestServer, admin: string, body: Record<string, unknown>): Promise<Registered> {
  const created = await jsonPost(server, '/admin/clients', { redirect_uris: [CALLBACK], ...body }, bearer(admin));
  assert.equal(created.status, 201, await created.clone().text());
  return (await created.json()) as Registered;
}

/**
 * The browser's part: the authorization URL on the hosted pages, signed in (and consent given when
 * asked); answers the callback URL the browser is sent back to.
 */
async function signInAndConsent(server: TestServer, url: URL, username: string): Promise<URL> {
  const page = new PageClient(server);
  const path = `${url.pathname}${url.search}`;
  const first = await page.get(path);
  assert.equal(first.status, 303, first.html);
  assert.equal((await page.get(first.location!)).status, 200, 'the sign-in form (and its CSRF token)');
  const signedIn = await page.post(first.location!, { username, password: PASSWORD });
  assert.equal(signedIn.status, 303, signedIn.html);
  let answer = await page.get(signedIn.location!);
  if (answer.status === 200) {
    assert.match(answer.html, /Allow access\?/);
    const request = unescape(/name="request" value="([^"]*)"/.exec(answer.html)![1]!);
    answer = await page.post('/authorize/consent', { request, decision: 'allow' });
  }
  assert.ok(answer.location?.startsWith(`${CALLBACK}?`), `${answer.status} ${answer.location}`);
  return new URL(answer.location!);
}

async function jwksOf(server: TestServer): Promise<JSONWebKeySet> {
  return (await (await server.fetch('/.well-known/jwks.json')).json()) as JSONWebKeySet;
}

describe('OpenID Connect with openid-client', () => {
  let server: TestServer;
  let web: Registered;
  let aliceId: string;

  before(async () => {
    server = await startTestServer({});
    await server.portcullis.users.create({ username: 'root', password: PASSWORD, scopes: ['admin'] });
    const alice = await server.portcullis.users.create({
      username: 'alice',
      password: PASSWORD,
      scopes: ['read'],
      email: 'alice@example.com',
      fullName: 'Alice Liddell',
    });
    aliceId = alice.id;
    web = await registerClient(server, await login(server, 'root', PASSWORD), { name: 'wiki', scopes: ['read'] });
  });
  after(async () => {
    await server?.stop();
  });

  it('discovers an OpenID provider that lists only what it serves', async () => {
    const config = await relyingParty(server, web);
    const metadata = config.serverMetadata();
    assert.equal(metadata.issuer, ISSUER);
    assert.equal(metadata.authorization_endpoint, `${ISSUER}/authorize`);
    assert.equal(metadata.userinfo_endpoint, `${ISSUER}/userinfo`);
    assert.deepEqual(metadata.response_types_supported, ['code']);
    assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(metadata.subject_types_supported, ['public']);
    // The deployment signs access tokens with HS256 (SECRET_KEY): ID tokens get RS256, as OpenID Connect requires.
    assert.deepEqual(metadata.id_token_signing_alg_values_supported, ['RS256']);
    for (const scope of ['openid', 'profile', 'email']) assert.ok(metadata.scopes_supported?.includes(scope), scope);
    assert.equal(metadata.request_uri_parameter_supported, false);
    assert.equal(metadata.request_parameter_supported, false);
    assert.equal(metadata.registration_endpoint, undefined, 'no dynamic registration is built, so none is listed');
    // The OAuth metadata says the same of the shared parts.
    const oauthMetadata = (await (await server.fetch('/.well-known/oauth-authorization-server')).json()) as Record<string, unknown>;
    assert.equal(oauthMetadata.authorization_endpoint, metadata.authorization_endpoint);
  });

  it('signs a user in: code + PKCE + state + nonce, a validated ID token, userinfo, refresh', async () => {
    const config = await relyingParty(server, web);
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const { url, verifier } = await authorizationRequest(config, 'openid profile email read', { state, nonce });
    const callback = await signInAndConsent(server, url, 'alice');
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    assert.equal(tokens.scope, 'openid profile email read');
    const claims = tokens.claims()!;
    assert.equal(claims.iss, ISSUER);
    assert.equal(claims.aud, web.client_id);
    assert.equal(claims.sub, aliceId, 'sub is the stable user id, not the username');
    assert.equal(claims.nonce, nonce);
    assert.deepEqual(claims.amr, ['pwd']);
    assert.equal(claims.acr, 'urn:portcullis:acr:pwd');
    assert.equal(typeof claims.auth_time, 'number');
    assert.equal(typeof claims.sid, 'string');
    assert.equal(claims.preferred_username, 'alice');
    assert.equal(claims.name, 'Alice Liddell');
    assert.equal(claims.email, 'alice@example.com');
    assert.equal(claims.email_verified, false);

    const info = await oidc.fetchUserInfo(config, tokens.access_token, aliceId);
    assert.deepEqual(
      { ...info, updated_at: undefined },
      {
        sub: aliceId,
        preferred_username: 'alice',
        name: 'Alice Liddell',
        email: 'alice@example.com',
        email_verified: false,
        updated_at: undefined,
      },
    );
    // The same by POST (Core §5.3.1 allows both).
    const posted = await server.fetch('/userinfo', { method: 'POST', headers: bearer(tokens.access_token) });
    assert.equal(posted.status, 200);
    assert.equal(((await posted.json()) as { sub: string }).sub, aliceId);

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'the refresh token rotates');
    assert.equal(refreshed.scope, 'openid profile email read', 'the identity scopes survive a refresh');
    assert.equal((await oidc.fetchUserInfo(config, refreshed.access_token, aliceId)).sub, aliceId);
  });

  it('issues ID tokens a strict verifier accepts only for their client and only until they expire; never as access tokens', async () => {
    const config = await relyingParty(server, web);
    const { url, verifier } = await authorizationRequest(config, 'openid');
    const tokens = await oidc.authorizationCodeGrant(config, await signInAndConsent(server, url, 'alice'), {
      pkceCodeVerifier: verifier,
      idTokenExpected: true,
    });
    const idToken = tokens.id_token!;
    const header = decodeProtectedHeader(idToken);
    assert.equal(header.alg, 'RS256');
    assert.equal(header.typ, 'JWT');
    const jwks = createLocalJWKSet(await jwksOf(server));
    const verified = await jwtVerify(idToken, jwks, { issuer: ISSUER, audience: web.client_id, algorithms: ['RS256'] });
    assert.equal(verified.payload.nonce, undefined, 'no nonce asked, none given');
    assert.equal(verified.payload.email, undefined, 'only the scopes asked for give claims');
    assert.equal(verified.payload.preferred_username, undefined);
    await assert.rejects(jwtVerify(idToken, jwks, { issuer: ISSUER, audience: 'another-client', algorithms: ['RS256'] }), /aud/);
    await assert.rejects(jwtVerify(idToken, jwks, { issuer: 'http://evil.test', algorithms: ['RS256'] }), /iss/);
    const expiredAt = new Date((verified.payload.exp! + 1) * 1000);
    await assert.rejects(jwtVerify(idToken, jwks, { issuer: ISSUER, audience: web.client_id, currentDate: expiredAt }), /exp/);
    const [head, body, signature] = idToken.split('.');
    const flipped = `${signature!.slice(0, -2)}${signature!.endsWith('AA') ? 'BA' : 'AA'}`;
    await assert.rejects(jwtVerify(`${head}.${body}.${flipped}`, jwks, { issuer: ISSUER, audience: web.client_id }));

    // An ID token is not an access token (typ JWT, not at+jwt; another key, another audience).
    const asAccess = await server.fetch('/users/me', { headers: bearer(idToken) });
    assert.equal(asAccess.status, 401);
    // Without profile or email, userinfo gives sub alone.
    assert.deepEqual(await oidc.fetchUserInfo(config, tokens.access_token, aliceId), { sub: aliceId });
  });

  it('asks consent for the identity scopes in plain words; refuses request objects rather than ignore them', async () => {
    await server.portcullis.users.create({ username: 'erin', password: PASSWORD, scopes: ['read'] });
    const config = await relyingParty(server, web);
    const { url } = await authorizationRequest(config, 'openid profile email read');
    const page = new PageClient(server);
    const first = await page.get(`${url.pathname}${url.search}`);
    await page.get(first.location!);
    const signedIn = await page.post(first.location!, { username: 'erin', password: PASSWORD });
    const consent = await page.get(signedIn.location!);
    assert.equal(consent.status, 200);
    for (const words of ['know who you are', 'see your username and name', 'see your e-mail address', 'use the scope “read”'])
      assert.ok(consent.html.includes(words), words);
    assert.ok(!consent.html.includes('use the scope “openid”'));

    for (const [parameter, error] of [
      ['request', 'request_not_supported'],
      ['request_uri', 'request_uri_not_supported'],
    ] as const) {
      const withObject = new URL(url);
      withObject.searchParams.set(parameter, parameter === 'request' ? 'eyJhbGciOiJub25lIn0.e30.' : 'urn:example:req');
      const refused = await page.get(`${withObject.pathname}${withObject.search}`);
      assert.equal(refused.status, 302);
      assert.equal(new URL(refused.location!).searchParams.get('error'), error);
    }
  });

  it('gives no ID token and no userinfo without the openid scope; refuses an unknown scope beyond the identity ones', async () => {
    const config = await relyingParty(server, web);
    const { url, verifier } = await authorizationRequest(config, 'read');
    const tokens = await oidc.authorizationCodeGrant(config, await signInAndConsent(server, url, 'alice'), { pkceCodeVerifier: verifier });
    assert.equal(tokens.id_token, undefined);
    const info = await server.fetch('/userinfo', { headers: bearer(tokens.access_token) });
    assert.equal(info.status, 403);
    assert.match(info.headers.get('www-authenticate') ?? '', /error="insufficient_scope", scope="openid"/);
    // The guide's password grant never carries openid either.
    const guide = await server.fetch('/userinfo', { headers: bearer(await login(server, 'alice', PASSWORD)) });
    assert.equal(guide.status, 403);
    const anonymous = await server.fetch('/userinfo');
    assert.equal(anonymous.status, 401);

    const { url: beyond } = await authorizationRequest(config, 'openid admin');
    const refused = await new PageClient(server).get(`${beyond.pathname}${beyond.search}`);
    assert.equal(refused.status, 302);
    assert.equal(new URL(refused.location!).searchParams.get('error'), 'invalid_scope');
  });
});

describe('OpenID Connect with oauth4webapi, after a second factor', () => {
  // The server's clock starts now and is moved on for the second TOTP code; the relying party is told how far (clockSkew).
  const clock = fixedClock(Date.now());
  let server: TestServer;

  before(async () => {
    server = await startTestServer({}, { clock });
    await server.portcullis.users.create({ username: 'root', password: PASSWORD, scopes: ['admin'] });
    await server.portcullis.users.create({ username: 'dave', password: PASSWORD, scopes: ['read'] });
  });
  after(async () => {
    await server?.stop();
  });

  it('carries the second step in amr and acr, with auth_time and the nonce, to an independent relying party', async () => {
    const registered = await registerClient(server, await login(server, 'root', PASSWORD), {
      name: 'tool',
      type: 'public',
      first_party: true,
    });
    const token = await login(server, 'dave', PASSWORD);
    const started = await jsonPost(server, '/users/me/factors/totp', { current_password: PASSWORD, name: 'Phone' }, bearer(token));
    const factor = (await started.json()) as { id: string; otpauth_uri: string };
    const totp = URI.parse(factor.otpauth_uri) as TOTP;
    const confirmed = await jsonPost(
      server,
      `/users/me/factors/totp/${factor.id}/confirm`,
      { code: totp.generate({ timestamp: clock.now() }) },
      bearer(token),
    );
    assert.equal(confirmed.status, 200);
    clock.advance(30_000);

    const options = {
      [oauth.allowInsecureRequests]: true,
      [oauth.customFetch]: (url: string, init: RequestInit) => fetch(url.replace(ISSUER, server.url), init),
    };
    const issuer = new URL(ISSUER);
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, options));
    const client: oauth.Client = { client_id: registered.client_id, [oauth.clockSkew]: Math.round((clock.now() - Date.now()) / 1000) };
    const verifier = oauth.generateRandomCodeVerifier();
    const nonce = oauth.generateRandomNonce();
    const url = new URL(as.authorization_endpoint!);
    for (const [name, value] of Object.entries({
      response_type: 'code',
      client_id: registered.client_id,
      redirect_uri: CALLBACK,
      scope: 'openid',
      nonce,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }))
      url.searchParams.set(name, value);

    const page = new PageClient(server);
    const first = await page.get(`${url.pathname}${url.search}`);
    await page.get(first.location!);
    const password = await page.post(first.location!, { username: 'dave', password: PASSWORD });
    assert.match(password.location ?? '', /^\/sign-in\/second-step\?/);
    await page.get(password.location!);
    const done = await page.post(password.location!, { otp: totp.generate({ timestamp: clock.now() }) });
    const answered = await page.get(done.location!);
    assert.equal(answered.status, 302);

    const params = oauth.validateAuthResponse(as, client, new URL(answered.location!), oauth.expectNoState);
    const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, CALLBACK, verifier, options);
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: nonce, requireIdToken: true });
    const claims = oauth.getValidatedIdTokenClaims(tokens)!;
    assert.deepEqual(claims.amr, ['pwd', 'otp']);
    assert.equal(claims.acr, 'urn:portcullis:acr:mfa');
    assert.equal(claims.auth_time, Math.floor(clock.now() / 1000));
    assert.equal(claims.nonce, nonce);
    // oauth4webapi leaves the signature to the TLS channel in the code flow: check it against the JWKS here.
    await jwtVerify(tokens.id_token!, createLocalJWKSet(await jwksOf(server)), {
      issuer: ISSUER,
      audience: registered.client_id,
      currentDate: new Date(clock.now()),
    });
    const info = await oauth.processUserInfoResponse(
      as,
      client,
      claims.sub,
      await oauth.userInfoRequest(as, client, tokens.access_token, options),
    );
    assert.equal(info.sub, claims.sub);
  });
});

describe('OpenID Connect on an asymmetric deployment', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ ALGORITHM: 'ES256' });
    await server.portcullis.users.create({ username: 'root', password: PASSWORD, scopes: ['admin'] });
    await server.portcullis.users.create({ username: 'bob', password: PASSWORD, scopes: [] });
  });
  after(async () => {
    await server?.stop();
  });

  it("signs ID tokens with the access tokens' key and algorithm, published once in the JWKS", async () => {
    const client = await registerClient(server, await login(server, 'root', PASSWORD), { name: 'app', first_party: true });
    const config = await relyingParty(server, client);
    assert.deepEqual(config.serverMetadata().id_token_signing_alg_values_supported, ['ES256']);
    const { url, verifier } = await authorizationRequest(config, 'openid profile');
    const tokens = await oidc.authorizationCodeGrant(config, await signInAndConsent(server, url, 'bob'), {
      pkceCodeVerifier: verifier,
      idTokenExpected: true,
    });
    assert.equal(tokens.claims()!.preferred_username, 'bob');
    const idHeader = decodeProtectedHeader(tokens.id_token!);
    const accessHeader = decodeProtectedHeader(tokens.access_token);
    assert.deepEqual([idHeader.alg, idHeader.typ], ['ES256', 'JWT']);
    assert.deepEqual([accessHeader.alg, accessHeader.typ], ['ES256', 'at+jwt']);
    assert.equal(idHeader.kid, accessHeader.kid, 'one key store, one current key');
    const kids = (await jwksOf(server)).keys.map((key) => key.kid);
    assert.equal(new Set(kids).size, kids.length);
  });
});

describe('without the hosted pages', () => {
  it('is no OpenID provider: no discovery document, no userinfo', async () => {
    const server = await startTestServer({ HOSTED_PAGES: 'off' });
    try {
      assert.equal((await server.fetch('/.well-known/openid-configuration')).status, 404);
      assert.equal((await server.fetch('/userinfo')).status, 404);
      const metadata = (await (await server.fetch('/.well-known/oauth-authorization-server')).json()) as { scopes_supported: string[] };
      assert.ok(!metadata.scopes_supported.includes('openid'));
    } finally {
      await server.stop();
    }
  });
});
