/**
 * Logout of the OpenID provider over real HTTP (issue 16, ADR 0028's addendum): RP-initiated logout
 * (`/end-session`, the end_session_endpoint, reached through openid-client's buildEndSessionUrl) with a
 * valid, an expired and a forged ID token hint, an unregistered post_logout_redirect_uri (never
 * redirected to), the confirmation page without a hint; and back-channel logout to a real HTTP
 * receiver started here (node:http on 127.0.0.1): the logout token verified with jose against the
 * server's JWKS, a receiver that answers 500 first is tried again, and the client session the
 * code opened is ended (its refresh token refused). The server goes by a fixed clock, so an
 * expired hint and a retry's time come from moving it, never from waiting; the tests wait on the
 * receiver's requests and the relay's events.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, errors, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JSONWebKeySet } from 'jose';
import * as oidc from 'openid-client';
import { fixedClock, type Clock } from '../../src/core/clock.js';
import { LOGOUT_RETRY } from '../../src/core/logout/logout-delivery.js';
import type { DeliveryEvent } from '../../src/core/outbox/outbox-relay.js';
import { PageClient } from '../helpers/page-client.js';
import { bearer, formPost, jsonPost, login, startTestServer, type TestServer } from '../helpers/server.js';

const ISSUER = 'http://portcullis.test';
const PASSWORD = 'correct horse battery staple 42';
const CALLBACK = 'https://app.example/callback';
const AFTER_LOGOUT = 'https://app.example/signed-out';
const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

interface Registered {
  readonly client_id: string;
  readonly client_secret?: string;
}

/** A request the receiver got. */
interface Received {
  readonly contentType: string | undefined;
  readonly body: URLSearchParams;
}

/**
 * A client's back-channel logout endpoint: node:http on 127.0.0.1. Each request is answered with the
 * next status of `statuses` (then 200), and handed to whoever awaits `next()`.
 */
class Receiver {
  readonly statuses: number[] = [];
  private readonly queue: Received[] = [];
  private readonly waiters: Array<(received: Received) => void> = [];
  private readonly server: Server;
  url = '';

  constructor() {
    this.server = createServer((request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const received = { contentType: request.headers['content-type'], body: new URLSearchParams(Buffer.concat(chunks).toString()) };
        response.writeHead(this.statuses.shift() ?? 200, { 'cache-control': 'no-store' }).end();
        const waiter = this.waiters.shift();
        if (waiter) waiter(received);
        else this.queue.push(received);
      });
    });
  }

  async start(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/backchannel-logout`;
  }

  next(): Promise<Received> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  get pending(): number {
    return this.queue.length;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * openid-client as the client of `server`, told how far the server's fixed clock is from the real
 * one (clockSkew, as of now), so the ID tokens it validates are on time whenever the test runs.
 */
function relyingParty(server: TestServer, client: Registered, clock: Clock): Promise<oidc.Configuration> {
  const metadata = {
    ...(client.client_secret === undefined ? {} : { client_secret: client.client_secret }),
    [oidc.clockSkew]: Math.round((clock.now() - Date.now()) / 1000),
  };
  return oidc.discovery(new URL(ISSUER), client.client_id, metadata, undefined, {
    execute: [oidc.allowInsecureRequests],
    [oidc.customFetch]: (url, options) => fetch(url.replace(ISSUER, server.url), options as RequestInit),
  });
}

/** The path and query of a URL of the issuer, for the PageClient. */
const pathOf = (url: URL) => `${url.pathname}${url.search}`;

const unescape = (value: string) =>
  value
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'");

interface SignedIn {
  readonly page: PageClient;
  readonly tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
}

/** A browser signs in through /authorize (a first-party client: no consent) and the client exchanges the code. */
async function signIn(server: TestServer, config: oidc.Configuration, username: string, page = new PageClient(server)): Promise<SignedIn> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: 'openid read',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  let answer = await page.get(pathOf(url));
  if (answer.status === 303 && answer.location!.startsWith('/sign-in')) {
    assert.equal((await page.get(answer.location!)).status, 200);
    const signedIn = await page.post(answer.location!, { username, password: PASSWORD });
    assert.equal(signedIn.status, 303, signedIn.html);
    answer = await page.get(signedIn.location!);
  }
  assert.ok(answer.location?.startsWith(`${CALLBACK}?`), `${answer.status} ${answer.location}`);
  const tokens = await oidc.authorizationCodeGrant(config, new URL(answer.location!), {
    pkceCodeVerifier: verifier,
    expectedState: state,
    idTokenExpected: true,
  });
  return { page, tokens };
}

async function signedInToPages(page: PageClient): Promise<boolean> {
  return (await page.get('/account')).status === 200;
}

/** The status of a refresh with the token: 200, or 401 once its session ended (the guide's invalid refresh token). */
async function refreshWorks(server: TestServer, client: Registered, refreshToken: string): Promise<number> {
  const response = await formPost(server, '/token', {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: client.client_id,
    client_secret: client.client_secret!,
  });
  return response.status;
}

describe('OpenID Connect logout', () => {
  const clock = fixedClock(Date.UTC(2026, 11, 7, 12, 0, 0));
  const receiver = new Receiver();
  let server: TestServer;
  let admin: string;
  let wiki: Registered;
  let jwks: JSONWebKeySet;

  before(async () => {
    await receiver.start();
    server = await startTestServer({}, { clock });
    await server.portcullis.users.create({ username: 'root', password: PASSWORD, scopes: ['admin'] });
    await server.portcullis.users.create({ username: 'alice', password: PASSWORD, scopes: ['read'] });
    admin = await login(server, 'root', PASSWORD);
    const created = await jsonPost(
      server,
      '/admin/clients',
      {
        name: 'wiki',
        scopes: ['read'],
        first_party: true,
        redirect_uris: [CALLBACK],
        post_logout_redirect_uris: [AFTER_LOGOUT],
        backchannel_logout_uri: receiver.url,
      },
      bearer(admin),
    );
    assert.equal(created.status, 201, await created.clone().text());
    wiki = (await created.json()) as Registered;
    assert.equal((wiki as unknown as { backchannel_logout_uri: string }).backchannel_logout_uri, receiver.url);
  });
  after(async () => {
    await server?.stop();
    await receiver.stop();
  });

  /** The server's JWKS, once an ID token was signed (the RS256 keys are made at the first). */
  async function serverJwks(): Promise<JSONWebKeySet> {
    jwks ??= (await (await server.fetch('/.well-known/jwks.json')).json()) as JSONWebKeySet;
    return jwks;
  }

  /** The logout token the receiver got next, verified as a client must (Back-Channel Logout 1.0 §2.6). */
  async function nextLogoutToken() {
    const received = await receiver.next();
    assert.equal(received.contentType, 'application/x-www-form-urlencoded');
    const token = received.body.get('logout_token');
    assert.ok(token, 'a logout_token field');
    assert.equal(decodeProtectedHeader(token).typ, 'logout+jwt');
    const { payload } = await jwtVerify(token, createLocalJWKSet(await serverJwks()), {
      issuer: ISSUER,
      audience: wiki.client_id,
      typ: 'logout+jwt',
      algorithms: ['RS256'],
      requiredClaims: ['iat', 'exp', 'jti', 'sub', 'sid', 'events'],
      currentDate: new Date(clock.now()),
    });
    assert.deepEqual(payload.events, { [BACKCHANNEL_EVENT]: {} });
    assert.equal(payload.nonce, undefined, 'a logout token never carries a nonce');
    assert.equal(payload.exp! - payload.iat!, 120);
    return payload;
  }

  it('discovery lists the end_session_endpoint and back-channel logout with sid', async () => {
    const metadata = (await relyingParty(server, wiki, clock)).serverMetadata();
    assert.equal(metadata.end_session_endpoint, `${ISSUER}/end-session`);
    assert.equal(metadata.backchannel_logout_supported, true);
    assert.equal(metadata.backchannel_logout_session_supported, true);
  });

  it('refuses a backchannel_logout_uri that is not https (but takes http to 127.0.0.1)', async () => {
    const plain = await jsonPost(
      server,
      '/admin/clients',
      { name: 'plain', redirect_uris: [CALLBACK], backchannel_logout_uri: 'http://app.example/logout' },
      bearer(admin),
    );
    assert.equal(plain.status, 400);
    assert.match(await plain.text(), /must use https/);
    const fragment = await server.fetch('/admin/clients/wiki', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', ...bearer(admin) },
      body: JSON.stringify({ backchannel_logout_uri: 'https://app.example/logout#x' }),
    });
    assert.equal(fragment.status, 400);
  });

  it('RP-initiated logout with a valid hint: back to the client with state, the session and its client session ended, a logout token sent', async () => {
    const config = await relyingParty(server, wiki, clock);
    const { page, tokens } = await signIn(server, config, 'alice');
    const sid = tokens.claims()!.sid as string;
    const userinfo = () => server.fetch('/userinfo', { headers: bearer(tokens.access_token) });
    assert.equal((await userinfo()).status, 200, 'the client session is alive (and its state cached)');
    const state = oidc.randomState();
    const url = oidc.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: AFTER_LOGOUT,
      state,
    });
    assert.equal(url.pathname, '/end-session');
    const answer = await page.get(pathOf(url));
    assert.equal(answer.status, 302, answer.html);
    assert.equal(answer.location, `${AFTER_LOGOUT}?state=${state}`);
    assert.ok(
      answer.setCookies.some((line) => /^portcullis_session=;/.test(line)),
      'the session cookie is cleared',
    );
    assert.equal(await signedInToPages(page), false, 'the browser session is gone');

    const logout = await nextLogoutToken();
    assert.equal(logout.sid, sid);
    assert.equal(logout.sub, tokens.claims()!.sub);
    // The client session the code opened ended with the browser session: its access token and its refresh token are refused.
    assert.equal((await userinfo()).status, 401);
    assert.equal(await refreshWorks(server, wiki, tokens.refresh_token!), 401);
    const audit = await server.portcullis.audit.list({ type: 'logout.rp_initiated', limit: 5 });
    assert.equal(audit.events[0]?.subject, `client:${wiki.client_id}`);
  });

  it('accepts an expired hint (RP-Initiated Logout §2)', async () => {
    const config = await relyingParty(server, wiki, clock);
    const { page, tokens } = await signIn(server, config, 'alice');
    clock.advance(2 * 3600_000);
    await assert.rejects(
      jwtVerify(tokens.id_token!, createLocalJWKSet(await serverJwks()), { currentDate: new Date(clock.now()) }),
      errors.JWTExpired,
      'the hint has expired by now',
    );
    const answer = await page.get(
      `/end-session?${new URLSearchParams({ id_token_hint: tokens.id_token!, post_logout_redirect_uri: AFTER_LOGOUT, state: 'st' })}`,
    );
    assert.equal(answer.status, 302, answer.html);
    assert.equal(answer.location, `${AFTER_LOGOUT}?state=st`);
    assert.equal(await signedInToPages(page), false);
    await nextLogoutToken();
  });

  it('refuses a forged hint and an unregistered post_logout_redirect_uri with a page, never a redirect', async () => {
    const config = await relyingParty(server, wiki, clock);
    const { page, tokens } = await signIn(server, config, 'alice');
    const claims = tokens.claims()!;
    // The same claims and the server's kid, signed with a key of our own.
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const kid = decodeProtectedHeader(tokens.id_token!).kid!;
    assert.ok((await exportJWK(publicKey)).n);
    const forged = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid }).sign(privateKey);
    const queries: Array<Record<string, string>> = [
      { id_token_hint: forged, post_logout_redirect_uri: AFTER_LOGOUT, state: 's' },
      { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'https://evil.example/after', state: 's' },
      { client_id: wiki.client_id, post_logout_redirect_uri: `${AFTER_LOGOUT}/x` },
      // No client named: no post_logout_redirect_uri can be checked.
      { post_logout_redirect_uri: AFTER_LOGOUT },
      // A client_id the hint was not issued to.
      { id_token_hint: tokens.id_token!, client_id: 'pc_someone_else' },
    ];
    for (const query of queries) {
      const answer = await page.get(`/end-session?${new URLSearchParams(query)}`);
      assert.equal(answer.status, 400, JSON.stringify(query));
      assert.equal(answer.location, null);
      assert.match(answer.html, /This sign-out link is not valid/);
      assert.doesNotMatch(answer.html, /evil\.example/);
    }
    assert.equal(await signedInToPages(page), true, 'nothing was ended');
    assert.equal(await refreshWorks(server, wiki, tokens.refresh_token!), 200);
  });

  it('without a hint asks the person to confirm (CSRF-protected), then ends the session and goes back with state', async () => {
    const config = await relyingParty(server, wiki, clock);
    const { page, tokens } = await signIn(server, config, 'alice');
    const url = oidc.buildEndSessionUrl(config, { post_logout_redirect_uri: AFTER_LOGOUT, state: 'xyz' });
    const confirm = await page.get(pathOf(url));
    assert.equal(confirm.status, 200);
    assert.match(confirm.html, /wiki asks you to sign out/);
    assert.match(confirm.headers.get('content-security-policy') ?? '', /form-action 'self' https:\/\/app\.example/);
    const fields = Object.fromEntries(
      [...confirm.html.matchAll(/<input type="hidden" name="([a-z_]+)" value="([^"]*)"/g)]
        .filter(([, name]) => name !== 'csrf_token')
        .map(([, name, value]) => [name!, unescape(value!)]),
    );
    assert.deepEqual(fields, { client_id: wiki.client_id, post_logout_redirect_uri: AFTER_LOGOUT, state: 'xyz' });
    const forged = await page.post('/end-session/confirm', fields, 'not-the-token');
    assert.equal(forged.status, 403);
    assert.equal(await signedInToPages(page), true);

    const done = await page.post('/end-session/confirm', fields);
    assert.equal(done.status, 303);
    assert.equal(done.location, `${AFTER_LOGOUT}?state=xyz`);
    assert.equal(await signedInToPages(page), false);
    assert.equal((await nextLogoutToken()).sid, tokens.claims()!.sid);
    assert.equal(await refreshWorks(server, wiki, tokens.refresh_token!), 401);
  });

  it('a hint of another browser session is confirmed, not obeyed at once; a signed-out browser goes straight back', async () => {
    const config = await relyingParty(server, wiki, clock);
    const first = await signIn(server, config, 'alice');
    const second = await signIn(server, config, 'alice');
    const answer = await second.page.get(
      `/end-session?${new URLSearchParams({ id_token_hint: first.tokens.id_token!, post_logout_redirect_uri: AFTER_LOGOUT })}`,
    );
    assert.equal(answer.status, 200, 'the confirmation page');
    assert.equal(await signedInToPages(second.page), true);
    const stranger = new PageClient(server);
    const away = await stranger.get(
      `/end-session?${new URLSearchParams({ client_id: wiki.client_id, post_logout_redirect_uri: AFTER_LOGOUT, state: 'q' })}`,
    );
    assert.equal(away.status, 302);
    assert.equal(away.location, `${AFTER_LOGOUT}?state=q`);
    // Leave no session behind for the next test's receiver.
    for (const { page } of [first, second]) {
      await page.get('/sign-out');
      assert.equal((await page.post('/sign-out', {})).status, 303);
      await nextLogoutToken();
    }
  });

  it('back-channel: a receiver that answers 500 is tried again; sign-out on the pages, an admin and the account page ending it all send tokens', async () => {
    const relay = server.logoutRelay;
    const config = await relyingParty(server, wiki, clock);
    const { page, tokens } = await signIn(server, config, 'alice');
    receiver.statuses.push(500);
    const sent = new Promise<DeliveryEvent>((resolve) => relay.once('sent', resolve));
    await page.get('/sign-out');
    assert.equal((await page.post('/sign-out', {})).status, 303);
    const refused = await receiver.next();
    assert.ok(refused.body.get('logout_token'));
    // The failed attempt is settled (a retry planned, due later by the fixed clock) before time moves.
    await relay.drained();
    assert.equal(receiver.pending, 0);
    clock.advance(LOGOUT_RETRY.maxMs);
    relay.wake();
    const retried = await nextLogoutToken();
    assert.equal(retried.sid, tokens.claims()!.sid);
    const event = await sent;
    assert.equal(event.attempts, 2);
    assert.equal(event.about, wiki.client_id);
    assert.equal(await refreshWorks(server, wiki, tokens.refresh_token!), 401);
    const deliveries = await server.storage.logoutDeliveries.listForBrowserSession(retried.sid as string);
    assert.deepEqual(
      deliveries.map((delivery) => [delivery.status, delivery.attempts]),
      [['sent', 2]],
    );

    // An admin ends a browser session (DELETE /admin/users/{user}/sessions/{id}): the same.
    const other = await signIn(server, config, 'alice');
    const sid = other.tokens.claims()!.sid as string;
    // The clock moved on: the admin's token of the start has expired.
    const freshAdmin = await login(server, 'root', PASSWORD);
    const ended = await server.fetch(`/admin/users/alice/sessions/${sid}`, { method: 'DELETE', headers: bearer(freshAdmin) });
    assert.equal(ended.status, 204);
    assert.equal((await nextLogoutToken()).sid, sid);
    assert.equal(await refreshWorks(server, wiki, other.tokens.refresh_token!), 401);

    // The person ends this browser's session on the account page: the same.
    const third = await signIn(server, config, 'alice');
    const thirdSid = third.tokens.claims()!.sid as string;
    assert.equal((await third.page.get('/account')).status, 200);
    const endedHere = await third.page.post('/account/sessions/end', { session_id: thirdSid });
    assert.equal(endedHere.status, 303);
    assert.equal(await signedInToPages(third.page), false);
    assert.equal((await nextLogoutToken()).sid, thirdSid);
    assert.equal(await refreshWorks(server, wiki, third.tokens.refresh_token!), 401);

    const audit = await server.portcullis.audit.list({ type: 'logout.backchannel_sent', limit: 10 });
    assert.ok(audit.events.length >= 3);
  });
});
