/**
 * The authorization code flow with PKCE end to end over real HTTP (issue 16, ADR 0028): clients
 * registered by the admin API, the browser part done by a cookie-keeping fetch (the hosted sign-in
 * form posted with its CSRF token, redirects followed by hand), the code exchanged at POST /token,
 * and the negative cases a basic OP must get right. The relying party of the first two tests is
 * panva's oauth4webapi (PKCE, the request URL, the callback's checks, the exchange and refresh). The server's clock is fixed: an expired code
 * is a clock moved on, not a wait.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as oauth from 'oauth4webapi';
import { URI, type TOTP } from 'otpauth';
import { fixedClock } from '../../src/core/clock.js';
import { PageClient } from '../helpers/page-client.js';
import { bearer, formPost, jsonPost, login, startTestServer, type TestServer } from '../helpers/server.js';

const clock = fixedClock(Date.parse('2026-12-07T09:00:00Z'));
const PASSWORD = 'correct horse battery staple 42';
const WEB_CB = 'https://app.example/cb';
const SPA_CB = 'http://127.0.0.1:9999/cb';

interface Registered {
  readonly client_id: string;
  readonly client_secret?: string;
}

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function basic(client: Registered): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}` };
}

const unescape = (value: string) =>
  value
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'");

describe('authorization code flow with PKCE', () => {
  let server: TestServer;
  let web: Registered;
  let spa: Registered;

  before(async () => {
    server = await startTestServer({}, { clock });
    await server.portcullis.users.create({ username: 'root', password: PASSWORD, scopes: ['admin'] });
    for (const username of ['alice', 'carol', 'dave'])
      await server.portcullis.users.create({ username, password: PASSWORD, scopes: ['read', 'write'] });
    const admin = await login(server, 'root', PASSWORD);
    const created = await jsonPost(
      server,
      '/admin/clients',
      { name: 'web', redirect_uris: [WEB_CB], scopes: ['read', 'write'] },
      bearer(admin),
    );
    assert.equal(created.status, 201);
    web = (await created.json()) as Registered;
    assert.ok(web.client_secret);
    const createdSpa = await jsonPost(
      server,
      '/admin/clients',
      { name: 'spa', type: 'public', redirect_uris: [SPA_CB], scopes: ['read'], first_party: true },
      bearer(admin),
    );
    assert.equal(createdSpa.status, 201);
    spa = (await createdSpa.json()) as Registered;
    assert.equal(spa.client_secret, undefined);
  });
  after(async () => {
    await server?.stop();
  });

  function authorizeUrl(client: Registered, more: Record<string, string> = {}): string {
    return `/authorize?${new URLSearchParams({ response_type: 'code', client_id: client.client_id, state: 'st-1', ...more }).toString()}`;
  }

  /** Signs the page client in through /authorize's sign-in detour; answers where the browser lands after it. */
  async function signInVia(page: PageClient, url: string, username = 'alice'): Promise<string> {
    const first = await page.get(url);
    assert.equal(first.status, 303, first.html);
    assert.match(first.location ?? '', /^\/sign-in\?return_to=%2Fauthorize%3F/);
    const form = await page.get(first.location!);
    assert.equal(form.status, 200);
    const signedIn = await page.post(first.location!, { username, password: PASSWORD });
    assert.equal(signedIn.status, 303, signedIn.html);
    assert.match(signedIn.location ?? '', /^\/authorize\?/);
    return signedIn.location!;
  }

  function codeOf(location: string | null, redirect: string): string {
    assert.ok(location?.startsWith(`${redirect}?`), String(location));
    const params = new URL(location!).searchParams;
    assert.equal(params.get('state'), 'st-1');
    assert.equal(params.get('iss'), 'http://portcullis.test');
    return params.get('code')!;
  }

  /** oauth4webapi against the test server: the issuer's URLs are the server's (ISSUER is http://portcullis.test). */
  function relyingParty() {
    const options = {
      [oauth.allowInsecureRequests]: true,
      [oauth.customFetch]: (url: string, init: RequestInit) => fetch(url.replace('http://portcullis.test', server.url), init),
    };
    const issuer = new URL('http://portcullis.test');
    return {
      options,
      async discover(): Promise<oauth.AuthorizationServer> {
        return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...options, algorithm: 'oauth2' }));
      },
    };
  }

  /** The authorization request oauth4webapi's way, as a path of the test server. */
  async function requestPath(as: oauth.AuthorizationServer, client: Registered, redirectUri: string, scope: string) {
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(as.authorization_endpoint!);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', client.client_id);
    url.searchParams.set('redirect_uri', redirectUri);
    url.searchParams.set('scope', scope);
    url.searchParams.set('state', state);
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
    url.searchParams.set('code_challenge_method', 'S256');
    return { path: `${url.pathname}${url.search}`, verifier, state };
  }

  it('runs oauth4webapi as a confidential web app: discovery, sign-in, consent, callback checks, code exchange, refresh', async () => {
    const rp = relyingParty();
    const as = await rp.discover();
    const client: oauth.Client = { client_id: web.client_id };
    const auth = oauth.ClientSecretBasic(web.client_secret!);
    const page = new PageClient(server);
    const { path, verifier, state } = await requestPath(as, web, WEB_CB, 'read write');
    // carol: her consents are her own, not those the other tests expect to ask alice for.
    const consent = await page.get(await signInVia(page, path, 'carol'));
    assert.equal(consent.status, 200);
    const request = unescape(/name="request" value="([^"]*)"/.exec(consent.html)![1]!);
    const allowed = await page.post('/authorize/consent', { request, decision: 'allow' });
    const params = oauth.validateAuthResponse(as, client, new URL(allowed.location!), state);
    const response = await oauth.authorizationCodeGrantRequest(as, client, auth, params, WEB_CB, verifier, rp.options);
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, response);
    assert.equal(tokens.scope, 'read write');
    assert.ok(tokens.refresh_token);
    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token, rp.options),
    );
    assert.ok(refreshed.access_token);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'the refresh token rotates');
  });

  it('runs oauth4webapi as a public first-party app: no consent, client_id alone, refresh', async () => {
    const rp = relyingParty();
    const as = await rp.discover();
    const client: oauth.Client = { client_id: spa.client_id };
    const page = new PageClient(server);
    const { path, verifier, state } = await requestPath(as, spa, SPA_CB, 'read');
    const answered = await page.get(await signInVia(page, path, 'carol'));
    assert.equal(answered.status, 302);
    const params = oauth.validateAuthResponse(as, client, new URL(answered.location!), state);
    const tokens = await oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, SPA_CB, verifier, rp.options),
    );
    assert.ok(tokens.refresh_token);
    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token, rp.options),
    );
    assert.ok(refreshed.access_token);
  });

  it('runs a confidential client end to end: sign-in, consent, code, tokens, refresh; a reused code ends the session', async () => {
    const page = new PageClient(server);
    const { verifier, challenge } = pkce();
    const back = await signInVia(
      page,
      authorizeUrl(web, { redirect_uri: WEB_CB, scope: 'read', code_challenge: challenge, code_challenge_method: 'S256' }),
    );
    const consent = await page.get(back);
    assert.equal(consent.status, 200);
    assert.match(consent.html, /Allow access\?/);
    assert.match(consent.headers.get('content-security-policy') ?? '', /form-action 'self' https:\/\/app\.example/);
    const request = unescape(/name="request" value="([^"]*)"/.exec(consent.html)![1]!);
    const allowed = await page.post('/authorize/consent', { request, decision: 'allow' });
    assert.equal(allowed.status, 303);
    const code = codeOf(allowed.location, WEB_CB);

    const exchange = () =>
      server.fetch('/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...basic(web) },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: WEB_CB, code_verifier: verifier }).toString(),
      });
    const tokens = await exchange();
    assert.equal(tokens.status, 200);
    const body = (await tokens.json()) as { access_token: string; refresh_token: string; scope: string };
    assert.equal(body.scope, 'read');
    const me = await server.fetch('/users/me', { headers: { authorization: `Bearer ${body.access_token}` } });
    assert.equal(((await me.json()) as { username: string }).username, 'alice');

    const refreshed = await server.fetch('/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...basic(web) },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: body.refresh_token }).toString(),
    });
    assert.equal(refreshed.status, 200);
    const next = (await refreshed.json()) as { refresh_token: string };

    const reused = await exchange();
    assert.equal(reused.status, 400);
    assert.equal(((await reused.json()) as { error: string }).error, 'invalid_grant');
    const afterReuse = await server.fetch('/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...basic(web) },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: next.refresh_token }).toString(),
    });
    assert.equal(afterReuse.status, 401, 'the session the code opened is revoked');

    // Consent is remembered: the same request is answered with a code at once.
    const again = await page.get(
      authorizeUrl(web, { redirect_uri: WEB_CB, scope: 'read', code_challenge: challenge, code_challenge_method: 'S256' }),
    );
    assert.equal(again.status, 302);
    codeOf(again.location, WEB_CB);
  });

  it('runs a first-party public client with client_id alone: no consent; a wrong verifier and an expired code are invalid_grant', async () => {
    const page = new PageClient(server);
    const { verifier, challenge } = pkce();
    const url = authorizeUrl(spa, { code_challenge: challenge, code_challenge_method: 'S256' });
    const back = await signInVia(page, url);
    const answered = await page.get(back);
    assert.equal(answered.status, 302, 'no consent page for a first-party client');
    const code = codeOf(answered.location, SPA_CB);
    const exchange = (fields: Record<string, string>) =>
      formPost(server, '/token', { grant_type: 'authorization_code', client_id: spa.client_id, redirect_uri: SPA_CB, ...fields });
    const wrong = await exchange({ code, code_verifier: pkce().verifier });
    assert.equal(wrong.status, 400);
    assert.equal(((await wrong.json()) as { error: string }).error, 'invalid_grant');

    const fresh = codeOf((await page.get(url)).location, SPA_CB);
    const tokens = await exchange({ code: fresh, code_verifier: verifier });
    assert.equal(tokens.status, 200);
    const { refresh_token } = (await tokens.json()) as { refresh_token: string };
    const refreshed = await formPost(server, '/token', { grant_type: 'refresh_token', client_id: spa.client_id, refresh_token });
    assert.equal(refreshed.status, 200);

    const late = codeOf((await page.get(url)).location, SPA_CB);
    clock.advance(61_000);
    const expired = await exchange({ code: late, code_verifier: verifier });
    assert.equal(expired.status, 400);
    assert.equal(((await expired.json()) as { error: string }).error, 'invalid_grant');
  });

  it('binds the code to the redirect_uri the request named, and lets a public client revoke its own tokens with client_id', async () => {
    const page = new PageClient(server);
    const { verifier, challenge } = pkce();
    const url = authorizeUrl(spa, { redirect_uri: SPA_CB, code_challenge: challenge, code_challenge_method: 'S256' });
    await signInVia(page, url, 'carol');
    const exchange = async (fields: Record<string, string>) => {
      const code = codeOf((await page.get(url)).location, SPA_CB);
      return formPost(server, '/token', {
        grant_type: 'authorization_code',
        client_id: spa.client_id,
        code,
        code_verifier: verifier,
        ...fields,
      });
    };
    for (const fields of [{}, { redirect_uri: `${SPA_CB}/` }] as Record<string, string>[]) {
      const refused = await exchange(fields);
      assert.equal(refused.status, 400, JSON.stringify(fields));
      assert.equal(((await refused.json()) as { error: string }).error, 'invalid_grant');
    }
    const tokens = await exchange({ redirect_uri: SPA_CB });
    assert.equal(tokens.status, 200);
    const { refresh_token } = (await tokens.json()) as { refresh_token: string };
    const revoked = await formPost(server, '/revoke', { token: refresh_token, client_id: spa.client_id });
    assert.equal(revoked.status, 200);
    const refreshed = await formPost(server, '/token', { grant_type: 'refresh_token', client_id: spa.client_id, refresh_token });
    assert.equal(refreshed.status, 401, 'revoked');
  });

  it('never redirects for an unknown client or a redirect URI that is not registered: an HTML page', async () => {
    const page = new PageClient(server);
    const { challenge } = pkce();
    for (const url of [
      authorizeUrl({ client_id: 'pc_nobody' }, { code_challenge: challenge, code_challenge_method: 'S256' }),
      authorizeUrl(web, { redirect_uri: 'https://evil.example/cb', code_challenge: challenge, code_challenge_method: 'S256' }),
      authorizeUrl(web, { redirect_uri: `${WEB_CB}/`, code_challenge: challenge, code_challenge_method: 'S256' }),
    ]) {
      const answer = await page.get(url);
      assert.equal(answer.status, 400, url);
      assert.equal(answer.location, null);
      assert.match(answer.headers.get('content-type') ?? '', /^text\/html/);
    }
  });

  it('redirects the other errors to the client with state: missing PKCE, plain, scope beyond the client, prompt=none', async () => {
    const page = new PageClient(server);
    const { challenge } = pkce();
    const cases: [Record<string, string>, string][] = [
      [{}, 'invalid_request'],
      [{ code_challenge: challenge, code_challenge_method: 'plain' }, 'invalid_request'],
      [{ code_challenge: challenge }, 'invalid_request'],
      [{ code_challenge: challenge, code_challenge_method: 'S256', scope: 'read admin' }, 'invalid_scope'],
      [{ code_challenge: challenge, code_challenge_method: 'S256', prompt: 'none' }, 'login_required'],
      [{ code_challenge: challenge, code_challenge_method: 'S256', response_type: 'token' }, 'unsupported_response_type'],
    ];
    for (const [more, error] of cases) {
      const answer = await page.get(authorizeUrl(web, { redirect_uri: WEB_CB, ...more }));
      assert.equal(answer.status, 302, JSON.stringify(more));
      const params = new URL(answer.location!).searchParams;
      assert.equal(params.get('error'), error, JSON.stringify(more));
      assert.equal(params.get('state'), 'st-1');
    }
  });

  it('answers consent_required to prompt=none before consent, and access_denied when the user denies', async () => {
    const page = new PageClient(server);
    const { challenge } = pkce();
    const url = authorizeUrl(web, { redirect_uri: WEB_CB, scope: 'write', code_challenge: challenge, code_challenge_method: 'S256' });
    const back = await signInVia(page, url);
    const none = await page.get(`${url}&prompt=none`);
    assert.equal(new URL(none.location!).searchParams.get('error'), 'consent_required');
    const consent = await page.get(back);
    const request = unescape(/name="request" value="([^"]*)"/.exec(consent.html)![1]!);
    const denied = await page.post('/authorize/consent', { request, decision: 'deny' });
    assert.equal(new URL(denied.location!).searchParams.get('error'), 'access_denied');
    const forged = await page.post('/authorize/consent', { request, decision: 'allow' }, 'not-the-token');
    assert.equal(forged.status, 403);
  });

  it('signs in again for prompt=login and for a sign-in older than max_age, then comes back with amr and auth_time of the new one', async () => {
    const page = new PageClient(server);
    const { challenge } = pkce();
    const url = authorizeUrl(spa, { code_challenge: challenge, code_challenge_method: 'S256' });
    await signInVia(page, url);
    assert.equal((await page.get(url)).status, 302, 'signed in: a code at once');
    const forced = await page.get(`${url}&prompt=login`);
    assert.equal(forced.status, 303);
    const returnTo = decodeURIComponent(/return_to=([^&]+)/.exec(forced.location!)![1]!);
    assert.doesNotMatch(returnTo, /prompt=login/, 'the return address does not send the browser round again');
    const form = await page.get(forced.location!);
    assert.equal(form.status, 200, 'the form, although signed in');
    clock.advance(120_000);
    assert.equal((await page.get(`${url}&max_age=60`)).status, 303, 'a sign-in two minutes old is too old for max_age=60');
    assert.equal((await page.get(`${url}&max_age=600`)).status, 302);
  });

  it('comes back to /authorize after the second step of a user with a second factor', async () => {
    const token = await login(server, 'dave', PASSWORD);
    const started = await jsonPost(server, '/users/me/factors/totp', { current_password: PASSWORD, name: 'Phone' }, bearer(token));
    const body = (await started.json()) as { id: string; otpauth_uri: string };
    const totp = URI.parse(body.otpauth_uri) as TOTP;
    const confirm = await jsonPost(
      server,
      `/users/me/factors/totp/${body.id}/confirm`,
      { code: totp.generate({ timestamp: clock.now() }) },
      bearer(token),
    );
    assert.equal(confirm.status, 200);
    clock.advance(30_000);
    const page = new PageClient(server);
    const { challenge } = pkce();
    const first = await page.get(authorizeUrl(spa, { code_challenge: challenge, code_challenge_method: 'S256' }));
    await page.get(first.location!);
    const password = await page.post(first.location!, { username: 'dave', password: PASSWORD });
    assert.equal(password.status, 303);
    assert.match(password.location ?? '', /^\/sign-in\/second-step\?return_to=%2Fauthorize%3F/);
    assert.equal((await page.get(password.location!)).status, 200);
    const done = await page.post(password.location!, { otp: totp.generate({ timestamp: clock.now() }) });
    assert.equal(done.status, 303);
    assert.match(done.location ?? '', /^\/authorize\?/);
    const answered = await page.get(done.location!);
    assert.equal(answered.status, 302);
    codeOf(answered.location, SPA_CB);
  });

  it('takes only a local /authorize URL as the return address of the sign-in', async () => {
    const page = new PageClient(server);
    await page.get('/sign-in?return_to=https%3A%2F%2Fevil.example%2F');
    const answer = await page.post('/sign-in?return_to=%2F%2Fevil.example%2Fauthorize%3Fx', { username: 'alice', password: PASSWORD });
    assert.equal(answer.status, 303);
    assert.equal(answer.location, '/account');
  });

  it('lists the code flow in the metadata', async () => {
    const metadata = (await (await server.fetch('/.well-known/oauth-authorization-server')).json()) as Record<string, unknown>;
    assert.equal(metadata.authorization_endpoint, 'http://portcullis.test/authorize');
    assert.deepEqual(metadata.response_types_supported, ['code']);
    assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
    assert.ok((metadata.grant_types_supported as string[]).includes('authorization_code'));
    assert.ok((metadata.token_endpoint_auth_methods_supported as string[]).includes('none'));
  });
});
