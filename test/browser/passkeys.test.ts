/**
 * Passkeys in a real browser: Debian's Chromium, through playwright-core, with its virtual WebAuthn
 * authenticator (CDP `WebAuthn.addVirtualAuthenticator`: CTAP2, resident keys, user verification),
 * drives the passkeys example page (examples/passkeys: the page and its server, which serves it on
 * http://localhost and passes the API through to a real Portcullis server with PASSKEY_LOGIN=on).
 * On that page a user signs in with a password, adds a passkey (ten recovery codes come with it),
 * signs in with the password and the passkey as second step (`amr` pwd+hwk), then with the passkey
 * alone (`amr` hwk+mfa). A replayed assertion is refused (its challenge was used), and so is a
 * cloned authenticator: the same credential on a second authenticator whose counter is behind.
 * Skipped where /usr/bin/chromium is missing, except under CI=true, where it fails.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core';
import { startPasskeyExample } from '../../examples/passkeys/server.js';
import { formPost, signUp, startTestServer, type TestServer } from '../helpers/server.js';
import { ARTIFACTS, CHROMIUM, skipWithoutChromium } from '../helpers/browser.js';

const USERNAME = 'passkey-user';
const PASSWORD = 'a passkey user passphrase';
const ACTION_TIMEOUT_MS = 20_000;
const PASSKEY_GRANT = 'urn:portcullis:params:oauth:grant-type:passkey';

const skip = skipWithoutChromium;

type Json = Record<string, unknown>;
interface StepResult {
  readonly step: string;
  readonly status: number | string;
  readonly body: Json;
}

/** The outcome of the page's next step named `step` (the page keeps its last one in window.portcullisExample). */
async function outcome(page: Page, step: string): Promise<StepResult> {
  // A function, not a string: the page's CSP forbids eval. It runs in the page (no DOM types here).
  const handle = await page.waitForFunction(
    (name: string) => {
      const last = (globalThis as unknown as { portcullisExample: { last?: StepResult } }).portcullisExample.last;
      return last !== undefined && last.step === name && last.status !== 401 ? last : undefined;
    },
    step,
    { timeout: ACTION_TIMEOUT_MS },
  );
  return (await handle.jsonValue()) as StepResult;
}

/** Forgets the page's last outcome, so that the next one is waited for. */
async function clearOutcome(page: Page): Promise<void> {
  await page.evaluate(() => {
    (globalThis as unknown as { portcullisExample: { last?: StepResult } }).portcullisExample.last = undefined;
  });
}

async function addAuthenticator(cdp: CDPSession): Promise<string> {
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return authenticatorId;
}

describe('passkeys in Chromium (examples/passkeys)', { skip }, () => {
  let server: TestServer;
  let example: Awaited<ReturnType<typeof startPasskeyExample>>;
  let browser: Browser;
  let page: Page;
  let cdp: CDPSession;
  let authenticator: string;

  before(async () => {
    example = await startPasskeyExample({ port: 0 });
    server = await startTestServer({ PUBLIC_URL: example.url, PASSKEY_LOGIN: 'on' });
    example.setPortcullis(server.url);
    await signUp(server, USERNAME, PASSWORD);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage();
    page.setDefaultTimeout(ACTION_TIMEOUT_MS);
    cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    authenticator = await addAuthenticator(cdp);
    await page.goto(example.url);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await example?.close();
  });

  async function passwordSignIn(): Promise<void> {
    await clearOutcome(page);
    await page.getByLabel('Username').fill(USERNAME);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  }

  it('signs in with a password, then adds a passkey; the first factor comes with ten recovery codes', async () => {
    await passwordSignIn();
    const signedIn = await outcome(page, 'password');
    assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
    assert.deepEqual(signedIn.body.amr, ['pwd']);

    await clearOutcome(page);
    await page.getByLabel('Current password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    const added = await outcome(page, 'add a passkey');
    assert.equal(added.status, 200, JSON.stringify(added.body));
    assert.equal(added.body.kind, 'webauthn');
    assert.equal((added.body.recovery_codes as string[]).length, 10);

    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId: authenticator });
    assert.equal(credentials.length, 1, 'one credential on the authenticator');
    assert.equal(credentials[0]?.isResidentCredential, true, 'a discoverable credential (a passkey)');
    assert.equal(credentials[0]?.rpId, 'localhost', "PUBLIC_URL's host is the relying party");
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}passkeys-added.png`, fullPage: true });
  });

  it('a password login now needs a second step, and the passkey completes it (amr pwd, hwk)', async () => {
    const plain = await formPost(server, '/token', { username: USERNAME, password: PASSWORD });
    assert.equal(plain.status, 401);
    const answer = (await plain.json()) as Json;
    assert.equal(answer.error, 'mfa_required');
    assert.deepEqual(answer.factors, ['webauthn', 'recovery_code']);
    assert.equal((answer.webauthn as Json).rpId, 'localhost');

    await passwordSignIn();
    const done = await outcome(page, 'second step (passkey)');
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.deepEqual(done.body.amr, ['pwd', 'hwk']);
    assert.equal(done.body.acr, 'urn:portcullis:acr:mfa');
  });

  it('signs in with the passkey alone (amr hwk, mfa); the same assertion again is refused', async () => {
    const sent: string[] = [];
    page.on('request', (request) => {
      const body = request.postData();
      if (request.url() === `${example.url}/token` && body?.includes(encodeURIComponent(PASSKEY_GRANT))) sent.push(body);
    });
    await clearOutcome(page);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    const done = await outcome(page, 'passkey');
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.deepEqual(done.body.amr, ['hwk', 'mfa']);
    await page.screenshot({ path: `${ARTIFACTS}passkeys-signed-in.png`, fullPage: true });

    assert.equal(sent.length, 1);
    const replay = await server.fetch('/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: sent[0],
    });
    assert.equal(replay.status, 400);
    const refusal = (await replay.json()) as Json;
    assert.equal(refusal.error, 'invalid_grant');
    assert.match(String(refusal.error_description), /challenge/i);
  });

  it('refuses a cloned authenticator: the same credential with a counter behind the one seen', async () => {
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId: authenticator });
    const original = credentials[0]!;
    assert.ok(original.signCount >= 3, `the counter went up with each use (${original.signCount})`);
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: authenticator });
    const clone = await addAuthenticator(cdp);
    await cdp.send('WebAuthn.addCredential', { authenticatorId: clone, credential: { ...original, signCount: 0 } });

    await clearOutcome(page);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    const refused = await outcome(page, 'passkey');
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.equal(refused.body.error, 'invalid_grant');
    assert.match(String(refused.body.detail), /counter/i);
  });
});
