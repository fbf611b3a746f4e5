/**
 * The sample web app (examples/oidc-web-app, an `openid-client` relying party) in a real browser:
 * Debian's Chromium through playwright-core, JavaScript on as in any browser, against a real
 * Portcullis whose ISSUER is its own http://127.0.0.1:PORT (discovery must name the URL the app
 * reaches). A confidential client that is not first-party, registered by the admin API; a person
 * opens the app, follows "Sign in" to Portcullis's hosted sign-in page, allows the app on the
 * consent page, lands back on the app signed in (the ID token's claims and /userinfo shown), and
 * signs out through Portcullis's `end_session_endpoint` (RP-initiated logout with the ID token as
 * hint: no confirmation page, since the hint is of this browser's session), back on the app signed
 * out, after which "Sign in" asks for the password again; the session the code's exchange opened
 * is ended. Signing out on Portcullis's own /sign-out page instead reaches the app by back-channel
 * logout (a logout token POSTed to it, verified with jose), which ends its session. A person who denies the app at consent lands on the app's "Sign-in failed" page with
 * `access_denied`, and the same callback again is refused. Each page is screenshotted into
 * test-artifacts/oidc-web-app-*.png and checked with axe-core (no serious or critical violation);
 * nothing is requested from anywhere but the two servers on 127.0.0.1, and no page breaks its CSP.
 * Skipped where /usr/bin/chromium is missing, except under CI=true, where it fails.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { generateKeyPair, SignJWT } from 'jose';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startApp, type RunningApp } from '../../examples/oidc-web-app/server.js';
import { startOnOwnUrl } from '../helpers/signing-keys.js';
import { bearer, jsonPost, login, type TestServer } from '../helpers/server.js';
import { ACTION_TIMEOUT_MS, ARTIFACTS, CHROMIUM, type Violation, readAxeSource, skipWithoutChromium } from '../helpers/browser.js';

const USERNAME = 'wiki-reader';
const EMAIL = 'wiki-reader@example.com';
const PASSWORD = 'a wiki reader passphrase';

const skip = skipWithoutChromium;

describe('the sample web app (examples/oidc-web-app) in Chromium', { skip }, () => {
  let server: TestServer;
  let app: RunningApp;
  let clientId: string;
  let userId: string;
  let browser: Browser;
  let page: Page;
  /** Every URL the browser requested, redirects included, in order. */
  const requested: string[] = [];
  const problems: string[] = [];
  const axeSource = readAxeSource();

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing, and CI=true requires this test (.ci/run installs chromium)`);
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await startOnOwnUrl();
    await server.portcullis.users.create({ username: 'root', password: PASSWORD, scopes: ['admin'] });
    userId = (await server.portcullis.users.create({ username: USERNAME, password: PASSWORD, email: EMAIL, fullName: 'Wiki Reader' })).id;
    const admin = bearer(await login(server, 'root', PASSWORD));
    // The app needs its client id to start, and its redirect URIs are known once it listens (on port 0):
    // registered first, its URIs set after, as when an app's address changes.
    const created = await jsonPost(
      server,
      '/admin/clients',
      { name: 'example-web-app', redirect_uris: ['http://127.0.0.1/callback'] },
      admin,
    );
    assert.equal(created.status, 201, await created.clone().text());
    const client = (await created.json()) as { client_id: string; client_secret: string; type: string; first_party: boolean };
    assert.equal(client.type, 'confidential');
    assert.equal(client.first_party, false, 'so the consent page shows');
    clientId = client.client_id;
    app = await startApp({ issuer: server.url, clientId, clientSecret: client.client_secret, port: 0 });
    const updated = await server.fetch(`/admin/clients/${clientId}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', ...admin },
      body: JSON.stringify({
        redirect_uris: [app.redirectUri],
        post_logout_redirect_uris: [app.postLogoutRedirectUri],
        backchannel_logout_uri: app.backchannelLogoutUri,
      }),
    });
    assert.equal(updated.status, 200, await updated.text());

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const context = await browser.newContext({ viewport: { width: 800, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(ACTION_TIMEOUT_MS);
    page.on('request', (request) => requested.push(request.url()));
    page.on('console', (message) => {
      if (/Content Security Policy|error/i.test(message.text())) problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await server?.stop();
  });

  /** A screenshot, and axe-core's verdict on the page as shown (injected through DevTools, which no page's CSP governs). */
  async function check(name: string): Promise<void> {
    await page.waitForLoadState();
    await page.screenshot({ path: `${ARTIFACTS}oidc-web-app-${name}.png`, fullPage: true });
    await page.evaluate(axeSource);
    const violations = (await page.evaluate(
      'axe.run(document, { resultTypes: ["violations"] }).then((result) => result.violations.map((v) => ' +
        '({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => String(n.target)) })))',
    )) as Violation[];
    const serious = violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
    assert.deepEqual(serious, [], `${name}: accessibility violations`);
  }

  const onPortcullis = (path: string) => (url: URL) => url.origin === server.url && url.pathname === path;

  /** The sessions Portcullis keeps open for the app's client (the code's exchange opens one). */
  async function appSessionsAtPortcullis(): Promise<number> {
    const user = await server.portcullis.users.get(USERNAME);
    return (await server.portcullis.sessions.listActive(user)).filter((session) => session.clientId === clientId).length;
  }

  it('signs in through the hosted sign-in and consent pages, shows the user, and signs out', async () => {
    const discovery = (await (await server.fetch('/.well-known/openid-configuration')).json()) as { end_session_endpoint: string };

    await page.goto(`${app.url}/`);
    await page.getByText('You are not signed in.').waitFor();
    await check('home');

    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.waitForURL(onPortcullis('/sign-in'));
    const authorize = new URL(requested.find((url) => url.startsWith(`${server.url}/authorize?`))!);
    assert.equal(authorize.searchParams.get('client_id'), clientId);
    assert.equal(authorize.searchParams.get('redirect_uri'), app.redirectUri);
    assert.equal(authorize.searchParams.get('scope'), 'openid profile email');
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    for (const parameter of ['code_challenge', 'state', 'nonce']) assert.ok(authorize.searchParams.get(parameter), parameter);
    await check('sign-in');
    await page.getByLabel('Username or e-mail address').fill(USERNAME);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();

    await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
    await check('consent');
    await page.getByRole('button', { name: 'Allow' }).click();

    await page.waitForURL(`${app.url}/`);
    await page.getByText(`Signed in as ${USERNAME}.`).waitFor();
    const callback = new URL(requested.find((url) => url.startsWith(`${app.redirectUri}?`))!);
    assert.equal(callback.searchParams.get('state'), authorize.searchParams.get('state'));
    assert.equal(callback.searchParams.get('iss'), server.url);
    // The ID token's claims and /userinfo's: the stable user id, and the e-mail address of the `email` scope, in both.
    assert.equal(await page.locator('dd', { hasText: userId }).count(), 2);
    assert.equal(await page.locator('dd', { hasText: EMAIL }).count(), 2);
    await page.getByText('Wiki Reader').first().waitFor();
    assert.equal(await appSessionsAtPortcullis(), 1, "the code's exchange opened a session for the app");
    await check('signed-in');

    // Signing out: through /end-session with the ID token as hint, straight back to the app (redirects are not shown).
    assert.equal(discovery.end_session_endpoint, `${server.url}/end-session`);
    const shown = page.waitForEvent('framenavigated', { predicate: (frame) => frame === page.mainFrame() });
    await page.getByRole('button', { name: 'Sign out' }).click();
    assert.equal((await shown).url(), `${app.url}/`, 'no confirmation page: the hint is of this browser session');
    const endSession = requested.find((url) => url.startsWith(`${discovery.end_session_endpoint}?`));
    assert.ok(endSession, `the browser went through ${discovery.end_session_endpoint}`);
    const parameters = new URL(endSession).searchParams;
    assert.ok(parameters.get('id_token_hint'), 'id_token_hint');
    assert.equal(parameters.get('post_logout_redirect_uri'), app.postLogoutRedirectUri);
    await page.getByText('You are not signed in.').waitFor();
    await check('signed-out');
    assert.equal(await appSessionsAtPortcullis(), 0, "the session the code's exchange opened has ended");

    // Portcullis's own session ended too: signing in again asks for the password.
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.waitForURL(onPortcullis('/sign-in'));
    await page.getByLabel('Password').waitFor();

    const elsewhere = requested.filter((url) => !url.startsWith(`${server.url}/`) && !url.startsWith(`${app.url}/`));
    assert.deepEqual(elsewhere, [], 'nothing requested from anywhere but the two servers on 127.0.0.1');
    assert.ok(server.url.startsWith('http://127.0.0.1:') && app.url.startsWith('http://127.0.0.1:'));
    assert.deepEqual(problems, [], 'no CSP violation and no script error');
  });

  it("is told by back-channel logout when the person signs out on Portcullis's own page, and ends its session", async () => {
    const context = await browser.newContext({ viewport: { width: 800, height: 900 } });
    try {
      const visitor = await context.newPage();
      visitor.setDefaultTimeout(ACTION_TIMEOUT_MS);
      await visitor.goto(`${app.url}/`);
      await visitor.getByRole('link', { name: 'Sign in' }).click();
      await visitor.waitForURL(onPortcullis('/sign-in'));
      await visitor.getByLabel('Username or e-mail address').fill(USERNAME);
      await visitor.getByLabel('Password').fill(PASSWORD);
      await visitor.getByRole('button', { name: 'Sign in' }).click();
      // Consent was given in the first test: it is remembered.
      await visitor.waitForURL(`${app.url}/`);
      await visitor.getByText(`Signed in as ${USERNAME}.`).waitFor();

      // The logout token that ends a session of the app (an earlier one, for a session already gone, ends none).
      const told = new Promise<void>((resolve) => {
        const listener = (event: { sid: string; ended: number }) => {
          if (event.ended === 0) return;
          app.events.off('backchannel-logout', listener);
          resolve();
        };
        app.events.on('backchannel-logout', listener);
      });
      // A logout token signed by anyone else is refused, and ends nothing.
      const { privateKey } = await generateKeyPair('RS256');
      const forged = await new SignJWT({ events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, sub: userId })
        .setProtectedHeader({ alg: 'RS256', typ: 'logout+jwt', kid: 'forged' })
        .setIssuer(server.url)
        .setAudience(clientId)
        .setIssuedAt()
        .setExpirationTime('2m')
        .setJti('forged-logout')
        .sign(privateKey);
      const refused = await fetch(app.backchannelLogoutUri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: forged }).toString(),
      });
      assert.equal(refused.status, 400, await refused.text());
      await visitor.reload();
      await visitor.getByText(`Signed in as ${USERNAME}.`).waitFor();

      const sessionCookie = async () => (await context.cookies(server.url)).find((item) => item.name === 'portcullis_session');
      assert.ok(await sessionCookie(), "Portcullis's browser session");
      await visitor.goto(`${server.url}/sign-out`);
      await visitor.getByRole('button', { name: 'Sign out' }).click();
      await visitor.waitForURL(`${server.url}/sign-in?done=signed-out`);
      // Waits for the relay's POST (sent once the session's end is committed; the runner's time-out bounds it).
      await told;
      assert.equal(await sessionCookie(), undefined, "Portcullis's browser session has ended");

      await visitor.goto(`${app.url}/`);
      await visitor.getByText('You are not signed in.').waitFor();
      assert.equal(await appSessionsAtPortcullis(), 0);
    } finally {
      await context.close();
    }
  });

  it('says so when the person denies the app on the consent page, and refuses a callback it did not start', async () => {
    await server.portcullis.users.create({ username: 'wiki-doubter', password: PASSWORD });
    const context = await browser.newContext({ viewport: { width: 800, height: 900 } });
    try {
      const visitor = await context.newPage();
      visitor.setDefaultTimeout(ACTION_TIMEOUT_MS);
      const elsewhere: string[] = [];
      visitor.on('request', (request) => {
        if (!request.url().startsWith(`${server.url}/`) && !request.url().startsWith(`${app.url}/`)) elsewhere.push(request.url());
      });
      await visitor.goto(`${app.url}/`);
      await visitor.getByRole('link', { name: 'Sign in' }).click();
      await visitor.waitForURL(onPortcullis('/sign-in'));
      await visitor.getByLabel('Username or e-mail address').fill('wiki-doubter');
      await visitor.getByLabel('Password').fill(PASSWORD);
      await visitor.getByRole('button', { name: 'Sign in' }).click();
      await visitor.getByRole('button', { name: 'Deny' }).click();
      await visitor.waitForURL((url) => url.href.startsWith(`${app.redirectUri}?`));
      await visitor.getByRole('heading', { name: 'Sign-in failed' }).waitFor();
      await visitor.getByText(/^access_denied/).waitFor();
      await visitor.screenshot({ path: `${ARTIFACTS}oidc-web-app-denied.png`, fullPage: true });
      // The same answer again (a reload, or a copied URL): the sign-in it belonged to is over.
      await visitor.reload();
      await visitor.getByText('This sign-in was not started here, or took too long.').waitFor();
      assert.deepEqual(elsewhere, []);
    } finally {
      await context.close();
    }
    // And no session was made for the app at Portcullis.
    const doubter = await server.portcullis.users.get('wiki-doubter');
    assert.deepEqual(
      (await server.portcullis.sessions.listActive(doubter)).filter((session) => session.clientId === clientId),
      [],
    );
  });
});
