/**
 * The hosted pages (ADR 0027) over real HTTP, on a server that mails a real SMTP receiver, with a
 * fixed clock (TOTP codes are computed with otpauth at the server's time). Each page: its status,
 * its CSP, CSRF refusals (403 without or with a wrong token, and nothing done), the cookies'
 * attributes, the browser session as a row of the sessions table (listed by the API, ended by
 * sign-out and by an admin), the mail pages with the tokens of real mails, and no secret in any
 * page.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TOTP } from 'otpauth';
import { Secret, TOTP as OtpTotp, URI } from 'otpauth';
import { fixedClock } from '../../src/core/clock.js';
import { PAGE_CONTENT_SECURITY_POLICY, pageContentSecurityPolicy } from '../../src/http/pages/page-kit.js';
import { loadConfig } from '../../src/server/config.js';
import { startMailTestServer, stopMailTestServer } from '../helpers/mail-server.js';
import { cookieAttributes, PageClient, type PageAnswer } from '../helpers/page-client.js';
import { bearer, formPost, jsonPost, login, makeTempDir, startTestServer, TEST_SECRET_KEY, type TestServer } from '../helpers/server.js';
import type { SmtpReceiver } from '../helpers/smtp-receiver.js';

const PASSWORD = 'a hosted pages passphrase 1';
const NEW_PASSWORD = 'a new hosted pages passphrase 2';
const ADMIN_PASSWORD = 'gatekeeper-Admin-passphrase-9';

let receiver: SmtpReceiver;
let server: TestServer;
const clock = fixedClock(Date.parse('2026-12-01T09:00:10Z'));
const logLines: string[] = [];
/** Every secret this file saw: none may be in a page or the log. */
const secrets: string[] = [PASSWORD, NEW_PASSWORD];
const clients: PageClient[] = [];
/** Secrets a page shows once (an enrolment's key, recovery codes): never in the log. */
const shownOnce: string[] = [];

before(async () => {
  ({ receiver, server } = await startMailTestServer(
    { SIGN_IN_LINKS: 'on', REGISTRATION: 'open', BRAND_COLOR: '#7a1f5c' },
    { clock, logLines },
  ));
  await server.portcullis.users.create({ username: 'root', password: ADMIN_PASSWORD, scopes: ['admin'] });
});

after(() => stopMailTestServer(server, receiver));

function browser(): PageClient {
  const client = new PageClient(server);
  clients.push(client);
  return client;
}

function assertPage(answer: PageAnswer, status: number): void {
  assert.equal(answer.status, status, answer.html);
  assert.equal(answer.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(answer.headers.get('content-security-policy'), PAGE_CONTENT_SECURITY_POLICY);
  assert.equal(answer.headers.get('x-frame-options'), 'DENY');
  assert.equal(answer.headers.get('cache-control'), 'no-store');
  assert.doesNotMatch(answer.html, /<script|style=/i, 'no script and no inline style');
}

async function account(username: string, email?: string): Promise<void> {
  const response = await jsonPost(server, '/users', { username, password: PASSWORD, ...(email === undefined ? {} : { email }) });
  assert.equal(response.status, 201, await response.text());
}

/** Signs in through the pages; returns the browser, signed in. */
async function signedIn(username: string, password = PASSWORD): Promise<PageClient> {
  const page = browser();
  assertPage(await page.get('/sign-in'), 200);
  const answer = await page.post('/sign-in', { username, password });
  assert.equal(answer.status, 303, answer.html);
  assert.equal(answer.location, '/account');
  secrets.push(page.cookies.get('portcullis_session')!);
  return page;
}

/** The token of the first mail since `from` to `username` that has a link matching `pattern` (mails arrive in any order). */
async function mailToken(from: number, username: string, pattern: RegExp): Promise<string> {
  for (let count = from + 1; ; count += 1) {
    const mails = (await receiver.arrived(count)).slice(from);
    for (const mail of mails) {
      const token = pattern.exec(mail.text ?? '')?.[1];
      if (token !== undefined && (mail.text ?? '').startsWith(`Hello ${username},`)) {
        secrets.push(token);
        return token;
      }
    }
  }
}

describe('hosted pages: sign-in and sign-out', () => {
  it('shows the sign-in page with the CSP, a CSRF cookie and a form, without JavaScript', async () => {
    const page = browser();
    const answer = await page.get('/sign-in');
    assertPage(answer, 200);
    assert.match(answer.html, /<form method="post" action="\/sign-in">/);
    assert.match(answer.html, /<label for="field-username">/);
    assert.match(answer.html, /<html lang="en">/);
    assert.match(answer.html, /Acme ID/);
    const csrf = cookieAttributes(answer, 'portcullis_csrf');
    assert.ok(csrf?.has('httponly') && csrf.has('samesite=lax') && csrf.has('path=/'), `${[...(csrf ?? [])]}`);
    assert.ok(!csrf?.has('secure'), 'SECURE_COOKIES is off in tests');
  });

  it("refuses a form POST without a CSRF token, with a wrong one, or with another browser's, and signs nobody in", async () => {
    await account('csrf-target');
    const page = browser();
    await page.get('/sign-in');
    const other = browser();
    await other.get('/sign-in');
    for (const csrf of [null, 'wrong', other.csrfToken!]) {
      const answer = await page.post('/sign-in', { username: 'csrf-target', password: PASSWORD }, csrf);
      assertPage(answer, 403);
      assert.match(answer.html, /The form has expired/);
      assert.equal(page.cookies.get('portcullis_session'), undefined);
    }
    // A form of another media type is no page form.
    const json = await server.fetch('/sign-in', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(json.status, 415);
  });

  it('re-renders the form with the error for a wrong password, keeping the username and never the password', async () => {
    await account('wrong-password');
    const page = browser();
    await page.get('/sign-in');
    const answer = await page.post('/sign-in', { username: 'wrong-password', password: 'not the password at all' });
    assertPage(answer, 401);
    assert.match(answer.html, /role="alert"/);
    assert.match(answer.html, /The username or password is not right/);
    assert.match(answer.html, /value="wrong-password"/);
    assert.doesNotMatch(answer.html, /not the password at all/);
  });

  it('opens a session of the sessions table, kept in an HttpOnly cookie, that the API lists and sign-out revokes', async () => {
    await account('alice');
    const page = browser();
    await page.get('/sign-in');
    const answer = await page.post('/sign-in', { username: 'alice', password: PASSWORD });
    assert.equal(answer.status, 303);
    assert.equal(answer.location, '/account');
    const attributes = cookieAttributes(answer, 'portcullis_session');
    assert.ok(attributes, 'a session cookie');
    for (const expected of ['httponly', 'samesite=lax', 'path=/', `max-age=${server.config.sessionMaxSeconds}`]) {
      assert.ok(attributes.has(expected), `${expected} in ${[...attributes]}`);
    }
    secrets.push(page.cookies.get('portcullis_session')!);

    const accountPage = await page.get('/account');
    assertPage(accountPage, 200);
    assert.match(accountPage.html, /Signed in as<\/dt>\s*<dd>alice<\/dd>/);
    assert.match(accountPage.html, /this browser/);

    // The API sees the browser's session among the user's.
    const token = await login(server, 'alice', PASSWORD);
    const listed = (await (await server.fetch('/users/me/sessions', { headers: bearer(token) })).json()) as unknown[];
    assert.equal(listed.length, 2);

    assertPage(await page.get('/sign-out'), 200);
    const out = await page.post('/sign-out', {});
    assert.equal(out.status, 303);
    assert.equal(out.location, '/sign-in?done=signed-out');
    assert.ok(cookieAttributes(out, 'portcullis_session')?.has('max-age=0'));
    const after = (await (await server.fetch('/users/me/sessions', { headers: bearer(token) })).json()) as unknown[];
    assert.equal(after.length, 1, 'sign-out revoked the session');
    assert.match((await page.get('/sign-in?done=signed-out')).html, /You are signed out/);
  });

  it('treats a revoked session cookie as signed out: an admin revoke ends the browser session', async () => {
    await account('bob');
    const page = await signedIn('bob');
    const kept = page.cookies.get('portcullis_session')!;
    const admin = await login(server, 'root', ADMIN_PASSWORD);
    const revoked = await server.fetch('/admin/users/bob/sessions', { method: 'DELETE', headers: bearer(admin) });
    assert.equal(revoked.status, 204, await revoked.text());
    const answer = await page.get('/account');
    assert.equal(answer.status, 303);
    assert.equal(answer.location, '/sign-in');
    // The cookie was never rotated: it is the one the sign-in set.
    assert.equal(page.cookies.get('portcullis_session'), kept);
  });

  it('is no browser session once its refresh token was rotated at /token (the cookie taken elsewhere)', async () => {
    await account('olivia');
    const page = await signedIn('olivia');
    const refreshed = await formPost(server, '/token', {
      grant_type: 'refresh_token',
      refresh_token: page.cookies.get('portcullis_session')!,
    });
    assert.equal(refreshed.status, 200);
    secrets.push(((await refreshed.json()) as { refresh_token: string }).refresh_token);
    const answer = await page.get('/account');
    assert.equal(answer.status, 303);
    assert.equal(answer.location, '/sign-in');
  });

  it('marks its cookies Secure with SECURE_COOKIES=on', async () => {
    const secure = await startTestServer({ SECURE_COOKIES: 'on' });
    try {
      assert.equal((await jsonPost(secure, '/users', { username: 'pat', password: PASSWORD })).status, 201);
      const page = new PageClient(secure);
      const form = await page.get('/sign-in');
      assert.ok(cookieAttributes(form, 'portcullis_csrf')?.has('secure'));
      const answer = await page.post('/sign-in', { username: 'pat', password: PASSWORD });
      assert.equal(answer.status, 303);
      assert.ok(cookieAttributes(answer, 'portcullis_session')?.has('secure'));
    } finally {
      await secure.stop();
    }
  });

  it('answers too many attempts with 429 in words, as POST /token would', async () => {
    const dir = makeTempDir();
    const limited = await startTestServer(
      { DATA_DIR: dir, LOGIN_BACKOFF_FREE_FAILURES: '1', LOGIN_BACKOFF_BASE_SECONDS: '600' },
      { clock },
    );
    try {
      assert.equal((await jsonPost(limited, '/users', { username: 'carol', password: PASSWORD })).status, 201);
      const page = new PageClient(limited);
      await page.get('/sign-in');
      let answer = await page.post('/sign-in', { username: 'carol', password: 'wrong one' });
      assert.equal(answer.status, 401);
      answer = await page.post('/sign-in', { username: 'carol', password: 'wrong again' });
      answer = answer.status === 401 ? await page.post('/sign-in', { username: 'carol', password: PASSWORD }) : answer;
      assertPage(answer, 429);
      assert.match(answer.html, /Too many attempts\. Try again in \d+ (minutes|seconds)/);
      assert.ok(Number(answer.headers.get('retry-after')) > 0);
      // And POST /token says the same.
      assert.equal((await formPost(limited, '/token', { username: 'carol', password: PASSWORD })).status, 429);
    } finally {
      await limited.stop();
    }
  });
});

describe('hosted pages: the second step', () => {
  async function enrolTotp(username: string): Promise<{ totp: TOTP; recoveryCodes: string[] }> {
    const token = await login(server, username, PASSWORD);
    const started = await jsonPost(server, '/users/me/factors/totp', { current_password: PASSWORD, name: 'Phone' }, bearer(token));
    const body = (await started.json()) as { id: string; otpauth_uri: string };
    const totp = URI.parse(body.otpauth_uri) as TOTP;
    secrets.push(totp.secret.base32);
    const confirmed = await jsonPost(
      server,
      `/users/me/factors/totp/${body.id}/confirm`,
      { code: totp.generate({ timestamp: clock.now() }) },
      bearer(token),
    );
    const codes = ((await confirmed.json()) as { recovery_codes: string[] }).recovery_codes;
    secrets.push(...codes);
    return { totp, recoveryCodes: codes };
  }

  it('asks for a code after the password, keeps the mfa_token in a cookie, and signs in with a TOTP code', async () => {
    await account('dave');
    const { totp } = await enrolTotp('dave');
    // The enrolment's code is used: the next one comes 30 s later.
    clock.advance(30_000);
    const page = browser();
    await page.get('/sign-in');
    const first = await page.post('/sign-in', { username: 'dave', password: PASSWORD });
    assert.equal(first.status, 303);
    assert.equal(first.location, '/sign-in/second-step');
    const mfa = cookieAttributes(first, 'portcullis_mfa');
    assert.ok(mfa?.has('httponly') && mfa.has('path=/sign-in') && mfa.has('samesite=strict'), `${[...(mfa ?? [])]}`);
    secrets.push(page.cookies.get('portcullis_mfa')!);
    assert.equal(page.cookies.get('portcullis_session'), undefined);

    const step = await page.get('/sign-in/second-step');
    assertPage(step, 200);
    assert.match(step.html, /autocomplete="one-time-code"/);

    const wrong = await page.post('/sign-in/second-step', { otp: '000000' });
    assertPage(wrong, 400);
    assert.match(wrong.html, /The code is not right/);

    const both = await page.post('/sign-in/second-step', { otp: '123456', recovery_code: 'abc' });
    assertPage(both, 400);

    const done = await page.post('/sign-in/second-step', { otp: totp.generate({ timestamp: clock.now() }) });
    assert.equal(done.status, 303, done.html);
    assert.equal(done.location, '/account');
    assert.ok(cookieAttributes(done, 'portcullis_mfa')?.has('max-age=0'));
    secrets.push(page.cookies.get('portcullis_session')!);
    const accountPage = await page.get('/account');
    assert.match(accountPage.html, /Phone/);
    assert.match(accountPage.html, /9 unused recovery codes left|10 unused recovery codes left/);
  });

  it('signs in with a recovery code, and lists and removes the factor on the account page', async () => {
    await account('erin');
    const { recoveryCodes } = await enrolTotp('erin');
    const page = browser();
    await page.get('/sign-in');
    await page.post('/sign-in', { username: 'erin', password: PASSWORD });
    await page.get('/sign-in/second-step');
    const done = await page.post('/sign-in/second-step', { recovery_code: recoveryCodes[0]! });
    assert.equal(done.status, 303, done.html);
    const accountPage = await page.get('/account');
    assert.match(accountPage.html, /9 unused recovery codes left/);
    const factorId = /name="factor_id" value="([^"]+)"/.exec(accountPage.html)?.[1];
    assert.ok(factorId);
    // Refused without the form's token.
    assert.equal((await page.post('/account/factors/remove', { factor_id: factorId }, 'forged')).status, 403);
    const removed = await page.post('/account/factors/remove', { factor_id: factorId });
    assert.equal(removed.status, 303, removed.html);
    assert.equal(removed.location, '/account?done=factor-removed');
    const after = await page.get('/account?done=factor-removed');
    assert.match(after.html, /The second factor is removed/);
    assert.match(after.html, /No second factor/);
  });

  it('sends the browser back to the sign-in page when there is no first step', async () => {
    const page = browser();
    const answer = await page.get('/sign-in/second-step');
    assert.equal(answer.status, 303);
    assert.equal(answer.location, '/sign-in');
  });
});

describe('hosted pages: the account page', () => {
  it('sends a browser without a session to the sign-in page', async () => {
    const answer = await browser().get('/account');
    assert.equal(answer.status, 303);
    assert.equal(answer.location, '/sign-in');
  });

  it('ends another session, and changes the password (a wrong current one is refused on the page)', async () => {
    await account('frank');
    const page = await signedIn('frank');
    const apiLogin = await formPost(server, '/token', { username: 'frank', password: PASSWORD });
    const { refresh_token: refreshToken } = (await apiLogin.json()) as { refresh_token: string };
    secrets.push(refreshToken);

    const listed = await page.get('/account');
    const sessionIds = [...listed.html.matchAll(/name="session_id" value="([^"]+)"/g)].map((match) => match[1]!);
    assert.equal(sessionIds.length, 2);
    const me = await server.portcullis.browserSession(page.cookies.get('portcullis_session')!);
    const other = sessionIds.find((id) => id !== me?.session.id)!;
    const ended = await page.post('/account/sessions/end', { session_id: other });
    assert.equal(ended.status, 303);
    assert.equal(ended.location, '/account?done=session-ended');
    assert.equal((await formPost(server, '/token', { grant_type: 'refresh_token', refresh_token: refreshToken })).status, 401);

    await page.get('/account');
    const wrong = await page.post('/account/password', { current_password: 'not it at all', new_password: NEW_PASSWORD });
    assertPage(wrong, 400);
    assert.match(wrong.html, /The current password is not right/);
    assert.doesNotMatch(wrong.html, /not it at all/);

    const changed = await page.post('/account/password', { current_password: PASSWORD, new_password: NEW_PASSWORD });
    assert.equal(changed.status, 303, changed.html);
    assert.equal(changed.location, '/account?done=password-changed');
    // This browser stays signed in; the new password signs in.
    assertPage(await page.get('/account?done=password-changed'), 200);
    await login(server, 'frank', NEW_PASSWORD);
  });
});

describe('hosted pages: the pages the mails link to', () => {
  it('resets a password from the mail: /forgot-password, then /reset-password?token=', async () => {
    await account('grace', 'grace@example.com');
    const page = browser();
    assertPage(await page.get('/forgot-password'), 200);
    const before = receiver.received.length;
    const asked = await page.post('/forgot-password', { who: 'grace' });
    assertPage(asked, 200);
    assert.match(asked.html, /a message with a reset link is on its way/);
    const token = await mailToken(before, 'grace', /reset-password\?token=([A-Za-z0-9_-]+)/);

    assertPage(await page.get(`/reset-password?token=${token}`), 200);
    const forged = await page.post('/reset-password', { token, new_password: NEW_PASSWORD }, null);
    assert.equal(forged.status, 403);
    const weak = await page.post('/reset-password', { token, new_password: 'short' });
    assertPage(weak, 400);
    const reset = await page.post('/reset-password', { token, new_password: NEW_PASSWORD });
    assert.equal(reset.status, 303, reset.html);
    assert.equal(reset.location, '/sign-in?done=password-changed');
    await login(server, 'grace', NEW_PASSWORD);
    const again = await page.post('/reset-password', { token, new_password: PASSWORD });
    assertPage(again, 400);
    assert.match(again.html, /invalid, used or expired/);
    // Without a token, the link of the "was that you?" mail: asking for one.
    assert.equal((await page.get('/reset-password')).location, '/forgot-password');
  });

  it('confirms an address only when the button is pressed, never on GET', async () => {
    const before = receiver.received.length;
    await account('heidi', 'heidi@example.com');
    const token = await mailToken(before, 'heidi', /verify-email\?token=([A-Za-z0-9_-]+)/);
    const page = browser();
    assertPage(await page.get(`/verify-email?token=${token}`), 200);
    assert.equal((await server.portcullis.users.get('heidi')).emailVerified, false, 'a GET confirms nothing');
    const confirmed = await page.post('/verify-email', { token });
    assertPage(confirmed, 200);
    assert.match(confirmed.html, /heidi@example\.com is confirmed/);
    assert.equal((await server.portcullis.users.get('heidi')).emailVerified, true);
  });

  it('signs in with a sign-in link only when the button is pressed', async () => {
    await account('ivan', 'ivan@example.com');
    const before = receiver.received.length;
    assert.equal((await jsonPost(server, '/signin/link', { username: 'ivan' })).status, 202);
    const token = await mailToken(before, 'ivan', /sign-in\?token=([A-Za-z0-9_-]+)/);
    const page = browser();
    const shown = await page.get(`/sign-in?token=${token}`);
    assertPage(shown, 200);
    assert.equal(page.cookies.get('portcullis_session'), undefined, 'a GET signs nobody in');
    const done = await page.post('/sign-in/link', { token });
    assert.equal(done.status, 303, done.html);
    assert.equal(done.location, '/account');
    secrets.push(page.cookies.get('portcullis_session')!);
    assert.match((await page.get('/account')).html, /Signed in as<\/dt>\s*<dd>ivan<\/dd>/);
  });
});

describe('hosted pages: sign-up, branding, settings', () => {
  it('signs up with REGISTRATION=open, then signs in', async () => {
    const page = browser();
    assertPage(await page.get('/sign-up'), 200);
    const taken = await page.post('/sign-up', { username: 'alice', password: PASSWORD });
    assertPage(taken, 409);
    assert.match(taken.html, /That username is taken/);
    const created = await page.post('/sign-up', { username: 'judy', password: PASSWORD });
    assert.equal(created.status, 303, created.html);
    assert.equal(created.location, '/sign-in?done=signed-up');
    await signedIn('judy');
  });

  it('serves one stylesheet in the brand colour, and the logo file', async () => {
    const css = await server.fetch('/pages/style.css');
    assert.equal(css.status, 200);
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
    assert.match(await css.text(), /--brand: #7a1f5c;/);

    const dir = makeTempDir();
    const logo = join(dir, 'logo.svg');
    writeFileSync(logo, '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>');
    const branded = await startTestServer({ BRAND_LOGO_FILE: logo, PRODUCT_NAME: 'Brand Co' });
    try {
      const page = await branded.fetch('/sign-in');
      assert.match(await page.text(), /<img class="logo" src="\/pages\/logo" alt="Brand Co"/);
      const served = await branded.fetch('/pages/logo');
      assert.equal(served.status, 200);
      assert.equal(served.headers.get('content-type'), 'image/svg+xml');
      assert.match(served.headers.get('content-security-policy') ?? '', /^default-src 'none'/);
    } finally {
      await branded.stop();
    }
  });

  it('refuses a BRAND_COLOR that is no hex colour and a logo that is no PNG or SVG', () => {
    const base = { SECRET_KEY: TEST_SECRET_KEY, DATA_DIR: makeTempDir() };
    assert.throws(() => loadConfig({ ...base, BRAND_COLOR: 'red; background: url(x)' }), /BRAND_COLOR must be a CSS hex colour/);
    assert.throws(
      () => loadConfig({ ...base, BRAND_LOGO_FILE: '/etc/passwd' }),
      /BRAND_LOGO_FILE: \/etc\/passwd is not a \.png or \.svg file/,
    );
  });

  it('serves no page with HOSTED_PAGES=off (nor /authorize, which discovery then leaves out), and no sign-up page with REGISTRATION=closed', async () => {
    const off = await startTestServer({ HOSTED_PAGES: 'off' });
    const closed = await startTestServer({ REGISTRATION: 'closed' });
    try {
      assert.equal((await off.fetch('/sign-in')).status, 404);
      assert.equal((await off.fetch('/authorize?response_type=code')).status, 404);
      const metadata = (await (await off.fetch('/.well-known/oauth-authorization-server')).json()) as Record<string, unknown>;
      assert.equal(metadata.authorization_endpoint, undefined);
      assert.deepEqual(metadata.response_types_supported, []);
      assert.ok(!(metadata.grant_types_supported as string[]).includes('authorization_code'));
      assert.equal((await closed.fetch('/sign-up')).status, 404);
      assert.equal((await closed.fetch('/sign-in')).status, 200);
    } finally {
      await off.stop();
      await closed.stop();
    }
  });

  it('keeps the pages out of the OpenAPI document', async () => {
    const document = (await (await server.fetch('/openapi.json')).json()) as { paths: Record<string, unknown> };
    assert.equal(document.paths['/sign-in'], undefined);
    assert.equal(document.paths['/account'], undefined);
  });
});

/** The key an enrolment page shows (grouped by four), as an authenticator app would take it. */
function shownTotp(html: string): TOTP {
  const key = /<code class="secret">([A-Z2-7 ]+)<\/code>/.exec(html)?.[1];
  assert.ok(key, 'the page shows the key');
  const secret = key.replace(/ /g, '');
  shownOnce.push(secret);
  return new OtpTotp({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });
}

/** The recovery codes a page shows. */
function shownCodes(html: string): string[] {
  const list = /<ul class="codes">([\s\S]*?)<\/ul>/.exec(html)?.[1] ?? '';
  const codes = [...list.matchAll(/<code>([^<]+)<\/code>/g)].map((match) => match[1]!);
  shownOnce.push(...codes);
  return codes;
}

function assertScriptPage(answer: PageAnswer, status: number): void {
  assert.equal(answer.status, status, answer.html);
  assert.equal(answer.headers.get('content-security-policy'), pageContentSecurityPolicy({ scripts: true }));
  assert.match(answer.headers.get('content-security-policy')!, /script-src 'self'; connect-src 'self'/);
  assert.equal(answer.headers.get('cache-control'), 'no-store');
  const scripts = [...answer.html.matchAll(/<script([^>]*)>/g)].map((match) => match[1]);
  assert.deepEqual(
    scripts,
    [' src="/pages/simplewebauthn-browser.js" defer', ' src="/pages/webauthn.js" defer'],
    'our two files, no inline script',
  );
  assert.doesNotMatch(answer.html, /style=|onclick|javascript:/i);
}

describe('hosted pages: factors on the account page', () => {
  it('adds an authenticator app: the current password, then the QR code and key, then a first code; the recovery codes once', async () => {
    await account('totp-page-user');
    const page = await signedIn('totp-page-user');
    const accountPage = await page.get('/account');
    assert.match(accountPage.html, /href="\/account\/factors\/totp"/);
    assert.match(accountPage.html, /href="\/account\/factors\/webauthn"/);
    assert.doesNotMatch(accountPage.html, /href="\/account\/recovery-codes"/, 'no codes to renew without a factor');

    assertPage(await page.get('/account/factors/totp'), 200);
    // A forged form does nothing; a wrong password is refused on the page.
    assert.equal((await page.post('/account/factors/totp', { current_password: PASSWORD }, 'forged')).status, 403);
    const wrong = await page.post('/account/factors/totp', { current_password: 'not the password', name: 'Phone' });
    assertPage(wrong, 400);
    assert.match(wrong.html, /The current password is not right/);
    assert.match(wrong.html, /value="Phone"/, 'the name is kept');
    assert.doesNotMatch(wrong.html, /not the password/);

    const started = await page.post('/account/factors/totp', { current_password: PASSWORD, name: 'Phone' });
    assert.equal(started.status, 200, started.html);
    assert.equal(started.headers.get('content-security-policy'), pageContentSecurityPolicy({ dataImages: true }));
    assert.match(started.headers.get('content-security-policy')!, /img-src 'self' data:/);
    assert.equal(started.headers.get('cache-control'), 'no-store');
    assert.doesNotMatch(started.html, /<script|style=/i);
    assert.match(started.html, /<img class="qr" src="data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+" alt="[^"]+"/);
    const totp = shownTotp(started.html);
    const factorId = /name="factor_id" value="([^"]+)"/.exec(started.html)?.[1];
    assert.ok(factorId);

    const badCode = await page.post('/account/factors/totp/confirm', { factor_id: factorId, code: '000000' });
    assertPage(badCode, 400);
    assert.match(badCode.html, /The code is not right/);
    assert.doesNotMatch(badCode.html, /class="secret"/, 'the key is not shown again');
    assert.equal((await page.post('/account/factors/totp/confirm', { factor_id: factorId, code: '000000' }, 'forged')).status, 403);

    const done = await page.post('/account/factors/totp/confirm', { factor_id: factorId, code: totp.generate({ timestamp: clock.now() }) });
    assertPage(done, 200);
    assert.match(done.html, /Save your recovery codes/);
    const codes = shownCodes(done.html);
    assert.equal(codes.length, 10);
    const after = await page.get('/account');
    assert.match(after.html, /<strong>Phone<\/strong> · Authenticator app/);
    assert.match(after.html, /10 unused recovery codes left/);
    assert.match(after.html, /href="\/account\/recovery-codes"/);
    for (const code of codes) assert.ok(!after.html.includes(code), 'the codes are shown once');
    // The API sees the same factor.
    const token = await login(server, 'totp-page-user', PASSWORD).catch(() => undefined);
    assert.equal(token, undefined, 'the password alone no longer signs in');
  });

  it('renames a factor and makes new recovery codes (with the current password)', async () => {
    await account('rename-page-user');
    const page = await signedIn('rename-page-user');
    await page.get('/account/factors/totp');
    const started = await page.post('/account/factors/totp', { current_password: PASSWORD });
    const totp = shownTotp(started.html);
    const factorId = /name="factor_id" value="([^"]+)"/.exec(started.html)![1]!;
    const done = await page.post('/account/factors/totp/confirm', { factor_id: factorId, code: totp.generate({ timestamp: clock.now() }) });
    const firstCodes = shownCodes(done.html);

    const accountPage = await page.get('/account');
    assert.match(accountPage.html, /<strong>Authenticator app<\/strong>/, 'the default name');
    assert.match(accountPage.html, new RegExp(`href="/account/factors/rename\\?factor=${factorId}"`));
    const form = await page.get(`/account/factors/rename?factor=${factorId}`);
    assertPage(form, 200);
    assert.match(form.html, /value="Authenticator app"/);
    assert.equal((await page.get('/account/factors/rename?factor=nope')).location, '/account');
    assert.equal((await page.post('/account/factors/rename', { factor_id: factorId, name: 'Work phone' }, 'forged')).status, 403);
    const refused = await page.post('/account/factors/rename', { factor_id: factorId, name: 'x'.repeat(65) });
    assertPage(refused, 400);
    const renamed = await page.post('/account/factors/rename', { factor_id: factorId, name: 'Work phone' });
    assert.equal(renamed.status, 303, renamed.html);
    assert.equal(renamed.location, '/account?done=factor-renamed');
    const after = await page.get('/account?done=factor-renamed');
    assert.match(after.html, /The second factor is renamed/);
    assert.match(after.html, /<strong>Work phone<\/strong>/);

    assertPage(await page.get('/account/recovery-codes'), 200);
    assert.equal((await page.post('/account/recovery-codes', { current_password: PASSWORD }, 'forged')).status, 403);
    const wrong = await page.post('/account/recovery-codes', { current_password: 'not the password' });
    assertPage(wrong, 400);
    const renewed = await page.post('/account/recovery-codes', { current_password: PASSWORD });
    assertPage(renewed, 200);
    const newCodes = shownCodes(renewed.html);
    assert.equal(newCodes.length, 10);
    assert.ok(newCodes.every((code) => !firstCodes.includes(code)));
    // An old code no longer completes a second step; a new one does.
    const again = browser();
    await again.get('/sign-in');
    await again.post('/sign-in', { username: 'rename-page-user', password: PASSWORD });
    await again.get('/sign-in/second-step');
    assertPage(await again.post('/sign-in/second-step', { recovery_code: firstCodes[0]! }), 400);
    assert.equal((await again.post('/sign-in/second-step', { recovery_code: newCodes[0]! })).status, 303);
  });

  it('adds a passkey on a page with our two script files under script-src self, its options in the form', async () => {
    await account('passkey-page-user');
    const page = await signedIn('passkey-page-user');
    // The password step has no script.
    assertPage(await page.get('/account/factors/webauthn'), 200);
    assert.equal((await page.post('/account/factors/webauthn', { current_password: PASSWORD }, 'forged')).status, 403);
    const started = await page.post('/account/factors/webauthn', { current_password: PASSWORD, name: 'Laptop' });
    assertScriptPage(started, 200);
    const options = /data-webauthn-options="([^"]+)"/.exec(started.html)?.[1];
    assert.ok(options);
    const parsed = JSON.parse(options.replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as { challenge: string; user: { name: string } };
    assert.equal(parsed.user.name, 'passkey-page-user');
    assert.match(
      started.html,
      /<form\s+method="post"\s+action="\/account\/factors\/webauthn\/confirm"\s+data-webauthn="register"[^>]*\shidden\s*>/,
    );
    assert.match(started.html, /data-webauthn-fallback/, 'without JavaScript the page says it is needed');
    const factorId = /name="factor_id" value="([^"]+)"/.exec(started.html)![1]!;

    // The answer is checked by core: a forged form does nothing, garbage is refused in words.
    assert.equal(
      (await page.post('/account/factors/webauthn/confirm', { factor_id: factorId, webauthn_response: '{}' }, 'forged')).status,
      403,
    );
    for (const answer of ['not json', '[]', '{"id":"x","rawId":"x","type":"public-key","response":{}}']) {
      const refused = await page.post('/account/factors/webauthn/confirm', { factor_id: factorId, webauthn_response: answer });
      assertPage(refused, 400);
      assert.match(refused.html, /The passkey or security key was not accepted/);
    }
    assert.match((await page.get('/account')).html, /No second factor yet/);

    const script = await server.fetch('/pages/webauthn.js');
    assert.equal(script.status, 200);
    assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(script.headers.get('x-content-type-options'), 'nosniff');
    assert.match(await script.text(), /startRegistration/);
    const library = await server.fetch('/pages/simplewebauthn-browser.js');
    assert.equal(library.status, 200);
    assert.match(await library.text(), /SimpleWebAuthnBrowser/);
  });

  it('sends a browser without a session from the factor pages to the sign-in page', async () => {
    const page = browser();
    for (const path of ['/account/factors/totp', '/account/factors/webauthn', '/account/recovery-codes', '/account/factors/rename']) {
      assert.equal((await page.get(path)).location, '/sign-in', path);
    }
    await page.get('/sign-in');
    assert.equal((await page.post('/account/factors/totp', { current_password: PASSWORD })).location, '/sign-in');
  });
});

describe('hosted pages: enrolment at login (MFA_POLICY=all) and passkey sign-in (PASSKEY_LOGIN=on)', () => {
  let strict: TestServer;
  const strictClients: PageClient[] = [];

  before(async () => {
    strict = await startTestServer({ MFA_POLICY: 'all', PASSKEY_LOGIN: 'on' }, { clock });
  });
  after(() => strict?.stop());

  function strictBrowser(): PageClient {
    const client = new PageClient(strict);
    strictClients.push(client);
    clients.push(client);
    return client;
  }

  it('sets up an authenticator app with the mfa_token, signs in with its first code, and shows the recovery codes once', async () => {
    assert.equal((await jsonPost(strict, '/users', { username: 'judy', password: PASSWORD })).status, 201);
    const page = strictBrowser();
    await page.get('/sign-in');
    const first = await page.post('/sign-in', { username: 'judy', password: PASSWORD });
    assert.equal(first.status, 303, first.html);
    assert.equal(first.location, '/sign-in/enrol');
    secrets.push(page.cookies.get('portcullis_mfa')!);
    assert.equal(page.cookies.get('portcullis_session'), undefined);

    const intro = await page.get('/sign-in/enrol');
    assertPage(intro, 200);
    assert.match(intro.html, /must have a second factor/);
    assert.equal((await page.post('/sign-in/enrol', {}, 'forged')).status, 403);
    const started = await page.post('/sign-in/enrol', {});
    assert.equal(started.status, 200, started.html);
    assert.equal(started.headers.get('content-security-policy'), pageContentSecurityPolicy({ dataImages: true }));
    assert.match(started.html, /<form method="post" action="\/sign-in\/second-step">/);
    assert.ok(!started.html.includes(page.cookies.get('portcullis_mfa')!), 'the mfa_token stays in its cookie');
    const totp = shownTotp(started.html);

    assertPage(await page.post('/sign-in/second-step', { otp: '000000' }), 400);
    const done = await page.post('/sign-in/second-step', { otp: totp.generate({ timestamp: clock.now() }) });
    assertPage(done, 200);
    assert.equal(shownCodes(done.html).length, 10);
    assert.match(done.html, /href="\/account"/);
    secrets.push(page.cookies.get('portcullis_session')!);
    assert.equal(page.cookies.get('portcullis_mfa'), undefined);
    const accountPage = await page.get('/account');
    assertPage(accountPage, 200);
    assert.match(accountPage.html, /<strong>Authenticator app<\/strong>/);
    // Enrolment at login is for an account with no factor: with one, the sign-in asks for the second step.
    clock.advance(30_000);
    const again = strictBrowser();
    await again.get('/sign-in');
    assert.equal((await again.post('/sign-in', { username: 'judy', password: PASSWORD })).location, '/sign-in/second-step');
    assert.equal((await again.get('/sign-in/enrol')).status, 200);
    const refused = await again.post('/sign-in/enrol', {});
    // Back on the sign-in page, which has the passkey button here (PASSKEY_LOGIN=on).
    assertScriptPage(refused, 400);
    assert.match(refused.html, /Start again/);
    assert.equal(again.cookies.get('portcullis_mfa'), undefined, 'the mfa_token is dropped');
  });

  it('offers "Sign in with a passkey" on the sign-in page, fetched options and all, and refuses a forged answer', async () => {
    const page = strictBrowser();
    const signInPage = await page.get('/sign-in');
    assertScriptPage(signInPage, 200);
    assert.match(
      signInPage.html,
      /<form\s+method="post"\s+action="\/sign-in\/passkey"\s+data-webauthn="authenticate"[^>]*data-webauthn-options-url="\/signin\/passkey"\s+hidden\s*>/,
    );
    assert.doesNotMatch(signInPage.html, /data-webauthn-fallback/, 'without JavaScript the password form is the page');
    assert.equal((await page.post('/sign-in/passkey', { webauthn_response: '{}' }, 'forged')).status, 403);
    const refused = await page.post('/sign-in/passkey', { webauthn_response: '{"id":"x","rawId":"x","type":"public-key","response":{}}' });
    assertScriptPage(refused, 400);
    assert.match(refused.html, /The passkey or security key was not accepted/);
    assert.equal(page.cookies.get('portcullis_session'), undefined);
    // The options come from the API's route.
    const options = await strict.fetch('/signin/passkey', { method: 'POST' });
    assert.equal(options.status, 200);
  });

  it('has no passkey route and no script on the sign-in page with PASSKEY_LOGIN=off', async () => {
    const page = browser();
    assertPage(await page.get('/sign-in'), 200);
    const answer = await page.post('/sign-in/passkey', { webauthn_response: '{}' });
    assert.equal(answer.status, 404);
  });
});

describe('hosted pages: secrets', () => {
  it('never writes a password, refresh token, mfa_token or TOTP secret into a page or the log', () => {
    const log = logLines.join('\n');
    for (const client of clients) {
      for (const html of client.pages) {
        for (const secret of secrets) {
          // The mail pages carry their link's own token, which is in their URL already.
          if (html.includes(`name="token" value="${secret}"`)) continue;
          assert.ok(!html.includes(secret), `a secret in a page: ${secret.slice(0, 4)}…`);
        }
      }
    }
    for (const secret of [...secrets, ...shownOnce]) assert.ok(!log.includes(secret), 'a secret in the log');
  });
});
