/**
 * /docs in a real browser (Debian's Chromium through playwright-core)
 * against a real server: "Authorize" runs the OAuth2 password flow against
 * /token with the client fields left empty, and "Try it out" on GET
 * /users/me then answers 200 with the user. The page loads nothing from
 * elsewhere and breaks no rule of its CSP. The same works under a path
 * prefix, as behind a proxy. Skipped where /usr/bin/chromium is missing,
 * except under CI=true, where it fails.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { signUp, startTestServer, type TestServer } from '../helpers/server.js';
import { ACTION_TIMEOUT_MS, ARTIFACTS, CHROMIUM, skipWithoutChromium } from '../helpers/browser.js';

const USERNAME = 'docs-reader';
const PASSWORD = 'a docs reader passphrase';

const skip = skipWithoutChromium;

interface PageWatch {
  /** Requests for anything but the origin under test (and data: URIs). */
  readonly foreign: string[];
  /** CSP violations and uncaught page errors. */
  readonly problems: string[];
}

async function openPage(browser: Browser, origin: string): Promise<{ page: Page; watch: PageWatch }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
  page.setDefaultTimeout(ACTION_TIMEOUT_MS);
  const watch: PageWatch = { foreign: [], problems: [] };
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(`${origin}/`) && !url.startsWith('data:')) watch.foreign.push(url);
  });
  page.on('pageerror', (error) => watch.problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) watch.problems.push(message.text());
  });
  // Runs in the page (a string: this file is compiled without the DOM's types).
  await page.addInitScript(
    "document.addEventListener('securitypolicyviolation', (event) => " +
      "console.error('Content Security Policy violation: ' + event.effectiveDirective + ' ' + event.blockedURI));",
  );
  return { page, watch };
}

/** Authorize with the password flow, then GET /users/me through "Try it out"; returns the operation's block. */
async function authorizeAndCallMe(page: Page, docsUrl: string): Promise<Locator> {
  await page.goto(docsUrl);
  await page.getByRole('button', { name: 'Authorize', exact: true }).first().click();
  const dialog = page.locator('.dialog-ux');
  const passwordFlow = dialog.locator('.auth-container').filter({ hasText: 'Flow: password' });
  await passwordFlow.getByLabel('username:').fill(USERNAME);
  await passwordFlow.getByLabel('password:').fill(PASSWORD);
  // client_id and client_secret stay empty: the password grant needs no client.
  await passwordFlow.getByRole('button', { name: 'Apply given OAuth2 credentials' }).click();
  await passwordFlow.getByRole('button', { name: 'Remove authorization' }).waitFor();
  await passwordFlow.getByRole('button', { name: 'Close' }).click();
  await dialog.waitFor({ state: 'detached' });

  const operation = page.locator('#operations-Users-getCurrentUser');
  await operation.locator('.opblock-summary-control').click();
  await operation.getByRole('button', { name: 'Try it out' }).click();
  await operation.getByRole('button', { name: 'Execute' }).click();
  const answer = operation.locator('.live-responses-table tr.response');
  await answer
    .locator('.response-col_description .highlight-code')
    .filter({ hasText: `"username": "${USERNAME}"` })
    .waitFor();
  assert.equal((await answer.locator('.response-col_status').innerText()).trim(), '200');
  return operation;
}

/** Mounts the server under /auth/, stripping the prefix, as a reverse proxy does. */
async function startPrefixProxy(target: string): Promise<{ server: Server; url: string }> {
  const upstream = new URL(target);
  const server = createServer((request, response) => {
    const path = request.url ?? '/';
    if (!path.startsWith('/auth/')) {
      response.writeHead(404).end();
      return;
    }
    const forwarded = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: request.method, path: path.slice('/auth'.length), headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forwarded.on('error', () => response.destroy());
    request.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('GET /docs in Chromium', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing, and CI=true requires this test (.ci/run installs chromium)`);
    server = await startTestServer();
    assert.equal((await signUp(server, USERNAME, PASSWORD, { full_name: 'Docs Reader' })).status, 201);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('authorizes with the OAuth2 password flow, then "Try it out" on GET /users/me shows the user', async () => {
    const { page, watch } = await openPage(browser, server.url);
    const operation = await authorizeAndCallMe(page, `${server.url}/docs`);
    mkdirSync(ARTIFACTS, { recursive: true });
    await operation.evaluate((element) => element.scrollIntoView({ block: 'start' }));
    await page.screenshot({ path: `${ARTIFACTS}docs.png` });
    assert.deepEqual(watch.foreign, [], 'nothing loaded from elsewhere');
    assert.deepEqual(watch.problems, [], 'no CSP violation, no page error');
    await page.close();
  });

  it('does the same under a path prefix, behind a proxy', async () => {
    const proxy = await startPrefixProxy(server.url);
    try {
      const { page, watch } = await openPage(browser, proxy.url);
      const tokenRequests: string[] = [];
      page.on('request', (request) => {
        if (request.method() === 'POST') tokenRequests.push(request.url());
      });
      await authorizeAndCallMe(page, `${proxy.url}/auth/docs`);
      assert.deepEqual(tokenRequests, [`${proxy.url}/auth/token`]);
      assert.deepEqual(watch.foreign, []);
      assert.deepEqual(watch.problems, []);
      await page.close();
    } finally {
      proxy.server.closeAllConnections();
      proxy.server.close();
    }
  });
});
