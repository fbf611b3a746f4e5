/**
 * The hosted pages in a real browser (Debian's Chromium through playwright-core) against a real
 * server with a fixed clock, with JavaScript off (the pages need none): sign up, sign in, enrol an
 * authenticator app (through the API: the pages do not enrol yet), sign out, sign in again with
 * the TOTP second step (codes computed with otpauth at the server's time), use the account page,
 * sign out. Each page is screenshotted into test-artifacts/ and checked with axe-core for serious
 * or critical accessibility violations; axe runs in a second context, with JavaScript and with
 * bypassCSP (the pages' CSP rightly refuses an injected script), on the same page with the same
 * cookies. No page loads anything from elsewhere or breaks its CSP. Skipped where
 * /usr/bin/chromium is missing, except under CI=true, where it fails.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { TOTP } from 'otpauth';
import { URI } from 'otpauth';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { fixedClock } from '../../src/core/clock.js';
import { bearer, jsonPost, login, startTestServer, type TestServer } from '../helpers/server.js';
import { ACTION_TIMEOUT_MS, ARTIFACTS, CHROMIUM, type Violation, readAxeSource, skipWithoutChromium } from '../helpers/browser.js';

const USERNAME = 'page-visitor';
const PASSWORD = 'a page visitor passphrase';
const NEW_PASSWORD = 'a changed page visitor passphrase';

const skip = skipWithoutChromium;

describe('hosted pages in a browser, without JavaScript', { skip }, () => {
  const clock = fixedClock(Date.parse('2026-12-01T09:00:10Z'));
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const foreign: string[] = [];
  const problems: string[] = [];
  const axeSource = readAxeSource();

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing, and CI=true requires this test (.ci/run installs chromium)`);
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await startTestServer({ REGISTRATION: 'open', PRODUCT_NAME: 'Acme ID' }, { clock });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 800, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(ACTION_TIMEOUT_MS);
    page.on('request', (request) => {
      if (!request.url().startsWith(`${server.url}/`)) foreign.push(request.url());
    });
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) problems.push(message.text());
    });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** A screenshot of the page as it is, and axe-core's verdict on the same URL with the same cookies. */
  async function check(name: string): Promise<void> {
    await page.screenshot({ path: `${ARTIFACTS}hosted-pages-${name}.png`, fullPage: true });
    const axeContext = await browser.newContext({ bypassCSP: true, javaScriptEnabled: true });
    try {
      await axeContext.addCookies(await context.cookies());
      const axePage = await axeContext.newPage();
      axePage.setDefaultTimeout(ACTION_TIMEOUT_MS);
      const response = await axePage.goto(page.url());
      assert.equal(response?.status(), 200, `${name}: ${page.url()}`);
      await axePage.addScriptTag({ content: axeSource });
      const violations = (await axePage.evaluate(
        'axe.run(document, { resultTypes: ["violations"] }).then((result) => result.violations.map((v) => ' +
          '({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => String(n.target)) })))',
      )) as Violation[];
      const serious = violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
      assert.deepEqual(serious, [], `${name}: accessibility violations`);
    } finally {
      await axeContext.close();
    }
  }

  async function signIn(password: string): Promise<void> {
    await page.goto(`${server.url}/sign-in`);
    await page.getByLabel('Username or e-mail address').fill(USERNAME);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  async function signOut(screenshot: boolean): Promise<void> {
    await page.getByRole('link', { name: 'Sign out' }).click();
    await page.waitForURL(`${server.url}/sign-out`);
    if (screenshot) await check('sign-out');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${server.url}/sign-in?done=signed-out`);
    await page.getByText('You are signed out.').waitFor();
  }

  it('signs up, signs in, signs out, signs in with a TOTP code, uses the account page, and signs out', async () => {
    await page.goto(`${server.url}/sign-up`);
    await check('sign-up');
    await page.getByLabel('Username').fill(USERNAME);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create the account' }).click();
    await page.waitForURL(`${server.url}/sign-in?done=signed-up`);
    await check('sign-in');

    await signIn(PASSWORD);
    await page.waitForURL(`${server.url}/account`);
    await page.getByText(USERNAME, { exact: true }).waitFor();

    // An authenticator app, enrolled through the API (the pages do not enrol yet).
    const token = await login(server, USERNAME, PASSWORD);
    const started = await jsonPost(server, '/users/me/factors/totp', { current_password: PASSWORD, name: 'Phone' }, bearer(token));
    const enrolment = (await started.json()) as { id: string; otpauth_uri: string };
    const totp = URI.parse(enrolment.otpauth_uri) as TOTP;
    const code = totp.generate({ timestamp: clock.now() });
    assert.equal((await jsonPost(server, `/users/me/factors/totp/${enrolment.id}/confirm`, { code }, bearer(token))).status, 200);
    clock.advance(30_000);

    await page.reload();
    await signOut(true);
    await page.goto(`${server.url}/forgot-password`);
    await check('forgot-password');

    await signIn(PASSWORD);
    await page.waitForURL(`${server.url}/sign-in/second-step`);
    await check('second-step');
    await page.getByLabel('Code from your authenticator app').fill('000000');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('The code is not right').waitFor();
    await check('second-step-error');
    await page.getByLabel('Code from your authenticator app').fill(totp.generate({ timestamp: clock.now() }));
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${server.url}/account`);
    await page.getByText('Phone', { exact: true }).waitFor();
    await check('account');

    await page.getByLabel('Current password').fill(PASSWORD);
    await page.getByLabel('New password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.waitForURL(`${server.url}/account?done=password-changed`);
    await page.getByText('Your password is changed.').waitFor();
    await check('account-changed');

    await signOut(false);
    assert.deepEqual(foreign, [], 'nothing loaded from elsewhere');
    assert.deepEqual(problems, [], 'no CSP violation');
  });

  it('goes through /authorize: sign in, consent, back to the client with a code (the CSP lets the form lead there); then signs out at /end-session and is sent back', async () => {
    const callback = 'http://127.0.0.1:9/cb';
    await server.portcullis.users.create({ username: 'app-user', password: PASSWORD, scopes: ['read'] });
    const afterLogout = 'http://127.0.0.1:9/bye';
    const { client } = await server.portcullis.clients.register(
      'browser-app',
      { redirectUris: [callback], scopes: ['read'], postLogoutRedirectUris: [afterLogout] },
      'test',
    );
    const reached: string[] = [];
    for (const clientUrl of [callback, afterLogout]) {
      await context.route(`${clientUrl}**`, async (route) => {
        reached.push(route.request().url());
        await route.fulfill({ status: 200, contentType: 'text/plain', body: 'the client' });
      });
    }
    const verifier = 'v'.repeat(43);
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: client.id,
      redirect_uri: callback,
      scope: 'read',
      state: 'browser-state',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    await page.goto(`${server.url}/authorize?${query.toString()}`);
    await page.waitForURL(/\/sign-in\?return_to=/);
    await check('authorize-sign-in');
    await page.getByLabel('Username or e-mail address').fill('app-user');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
    await check('consent');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(`${callback}**`);
    const landed = new URL(reached.at(-1)!);
    assert.equal(landed.searchParams.get('state'), 'browser-state');
    assert.match(landed.searchParams.get('code') ?? '', /^[A-Za-z0-9_-]{43}$/);

    // RP-initiated logout without a hint: the person confirms, and the form's redirect leads back to the client.
    const logout = new URLSearchParams({ client_id: client.id, post_logout_redirect_uri: afterLogout, state: 'bye-state' });
    await page.goto(`${server.url}/end-session?${logout.toString()}`);
    await page.getByRole('heading', { name: 'Sign out' }).waitFor();
    await check('end-session');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${afterLogout}**`);
    assert.equal(new URL(reached.at(-1)!).searchParams.get('state'), 'bye-state');
    await page.goto(`${server.url}/account`);
    await page.waitForURL(/\/sign-in/);
    assert.deepEqual(
      foreign.filter((url) => !url.startsWith(callback) && !url.startsWith(afterLogout)),
      [],
      'nothing loaded from elsewhere',
    );
    assert.deepEqual(problems, [], 'no CSP violation');
  });
});

/** A free port of 127.0.0.1, for a server whose PUBLIC_URL (the WebAuthn relying party) must name it. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/**
 * The WebAuthn pages with JavaScript on, in Chromium with a virtual authenticator (CDP
 * `WebAuthn.addVirtualAuthenticator`: CTAP2, resident keys, user verification), on
 * http://localhost (a secure context, and a host a relying party may be): add a passkey on the
 * account page (its recovery codes shown once), sign in with the password and the passkey as
 * second step (amr pwd+hwk), then with the passkey alone (PASSKEY_LOGIN=on, amr hwk+mfa). axe-core
 * runs in the page itself (injected through DevTools, which the page's CSP does not govern), so
 * that the pages a POST answers are checked as shown. Only our two script files run: no CSP
 * violation, nothing from elsewhere.
 */
describe('hosted pages in a browser: passkeys (WebAuthn) with JavaScript', { skip }, () => {
  const username = 'passkey-visitor';
  let server: TestServer;
  let origin: string;
  let browser: Browser;
  let page: Page;
  const foreign: string[] = [];
  const problems: string[] = [];
  const axeSource = readAxeSource();

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const port = await freePort();
    origin = `http://localhost:${port}`;
    server = await startTestServer({ PORT: String(port), PUBLIC_URL: origin, PASSKEY_LOGIN: 'on' });
    assert.equal((await jsonPost(server, '/users', { username, password: PASSWORD })).status, 201);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const context = await browser.newContext({ viewport: { width: 800, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(ACTION_TIMEOUT_MS);
    page.on('request', (request) => {
      if (!request.url().startsWith(`${origin}/`)) foreign.push(request.url());
    });
    page.on('console', (message) => {
      if (/Content Security Policy|error/i.test(message.text())) problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** A screenshot, and axe-core's verdict on the page as it is. */
  async function check(name: string): Promise<void> {
    await page.screenshot({ path: `${ARTIFACTS}hosted-pages-${name}.png`, fullPage: true });
    await page.evaluate(axeSource);
    const violations = (await page.evaluate(
      'axe.run(document, { resultTypes: ["violations"] }).then((result) => result.violations.map((v) => ' +
        '({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => String(n.target)) })))',
    )) as Violation[];
    const serious = violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
    assert.deepEqual(serious, [], `${name}: accessibility violations`);
  }

  /** The `amr` of this browser's session. */
  async function sessionAmr(): Promise<readonly string[] | undefined> {
    const cookie = (await page.context().cookies()).find((item) => item.name === 'portcullis_session');
    assert.ok(cookie, 'a session cookie');
    return (await server.portcullis.browserSession(cookie.value))?.claims.amr;
  }

  async function signOut(): Promise<void> {
    await page.getByRole('link', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${origin}/sign-in?done=signed-out`);
  }

  it('adds a passkey on the account page, then signs in with password and passkey, then with the passkey alone', async () => {
    await page.goto(`${origin}/sign-in`);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();
    await check('sign-in-passkey');
    await page.getByLabel('Username or e-mail address').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${origin}/account`);
    assert.deepEqual(await sessionAmr(), ['pwd']);

    await page.getByRole('link', { name: 'Add a passkey or security key' }).click();
    await page.getByLabel('Name (optional)').fill('Laptop');
    await page.getByLabel('Current password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Make the passkey' }).waitFor();
    await check('passkey-create');
    await page.getByRole('button', { name: 'Make the passkey' }).click();
    await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    assert.equal(await page.locator('ul.codes li').count(), 10);
    await check('passkey-recovery-codes');
    await page.getByRole('link', { name: 'I have saved them: continue' }).click();
    await page.waitForURL(`${origin}/account`);
    await page.getByText('Laptop', { exact: true }).waitFor();
    await check('account-factors');
    // The authenticator app's page: its QR code (a data: image, allowed on that page alone) and key.
    await page.getByRole('link', { name: 'Add an authenticator app' }).click();
    await page.getByLabel('Current password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('img', { name: 'QR code of the new authenticator app entry' }).waitFor();
    assert.ok(await page.locator('img.qr').evaluate((image) => (image as unknown as { naturalWidth: number }).naturalWidth > 0));
    await check('totp-qr');
    await page.getByRole('link', { name: 'Back to your account' }).click();
    await page.waitForURL(`${origin}/account`);

    await signOut();
    await page.getByLabel('Username or e-mail address').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${origin}/sign-in/second-step`);
    await page.getByRole('button', { name: 'Use your passkey or security key' }).waitFor();
    await check('second-step-passkey');
    await page.getByRole('button', { name: 'Use your passkey or security key' }).click();
    await page.waitForURL(`${origin}/account`);
    assert.deepEqual(await sessionAmr(), ['pwd', 'hwk']);

    await signOut();
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.waitForURL(`${origin}/account`);
    assert.deepEqual(await sessionAmr(), ['hwk', 'mfa']);
    await page.getByText(username, { exact: true }).waitFor();

    assert.deepEqual(foreign, [], 'nothing loaded from elsewhere');
    assert.deepEqual(problems, [], 'no CSP violation and no script error');
  });
});
