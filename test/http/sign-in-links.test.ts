/**
 * Sign-in links over HTTP (issue 14), end to end: the server (in this process, with a fixed clock
 * and a captured log) sends the mail through a real SMTP server in this process; the token is taken
 * from the mail that arrived and redeemed at POST /token as the sign-in link grant. Waits are on
 * arrivals and on the server's own "requests answered so far are done" (signInLinks.settled()),
 * never on time. Also: the link as the owner's way past a login throttle with no challenge solved,
 * the routes with SIGN_IN_LINKS=off, and without a mail channel.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ParsedMail } from 'mailparser';
import { fixedClock } from '../../src/core/clock.js';
import { MFA_GRANT, SIGN_IN_LINK_GRANT } from '../../src/core/portcullis.js';
import { formPostWith } from '../helpers/lifecycle.js';
import { from, randomClientIp } from '../helpers/rate-limits.js';
import { bearer, formPost, jsonPost, signUp, startTestServer, type TestServer } from '../helpers/server.js';
import {
  MAIL_PUBLIC_URL as PUBLIC_URL,
  mailSettings,
  startMailTestServer,
  startPlainSmtpReceiver,
  stopMailTestServer,
  waitForEmptyOutbox,
} from '../helpers/mail-server.js';
import { addressesOf, type SmtpReceiver } from '../helpers/smtp-receiver.js';

const INVALID_LINK = 'Invalid, used or expired sign-in link';
const VARYING_HEADERS = new Set(['date', 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit', 'retry-after']);

interface Grant {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** The sign-in link grant, form-encoded as the other grants are. */
async function redeem(
  server: TestServer,
  token: string,
  headers: Record<string, string> = {},
  extra: Record<string, string> = {},
): Promise<Grant> {
  const response = await formPostWith(server, '/token', { grant_type: SIGN_IN_LINK_GRANT, token, ...extra }, headers);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function tokenOf(mail: ParsedMail): string {
  const token = /sign-in\?token=([A-Za-z0-9_-]+)/.exec(mail.text ?? '')?.[1];
  assert.ok(token, `a token in the mail: ${mail.text}`);
  return token;
}

describe('sign-in links (SIGN_IN_LINKS=on)', () => {
  let receiver: SmtpReceiver;
  let server: TestServer;
  const clock = fixedClock(Date.parse('2026-12-01T09:00:00Z'));
  const logLines: string[] = [];
  /** Every token and password this suite used: none may be in the log. */
  const secrets: string[] = [];

  before(async () => {
    ({ receiver, server } = await startMailTestServer({ SIGN_IN_LINKS: 'on', SIGN_IN_LINK_MAILS_PER_HOUR: '3' }, { clock, logLines }));
  });
  after(() => stopMailTestServer(server, receiver));

  async function account(username: string, password: string, email: string | null): Promise<void> {
    secrets.push(password);
    const before = receiver.received.length;
    const response = await signUp(server, username, password, email === null ? {} : { email });
    assert.equal(response.status, 201, await response.text());
    if (email === null) return;
    // A sign-up with an address sends a verification mail (left unused here): it arrives before any link.
    const verification = (await receiver.arrived(before + 1))[before]!;
    assert.match(verification.text ?? '', /verify-email\?token=/);
  }

  async function ask(body: unknown): Promise<{ response: Response; text: string }> {
    const response = await jsonPost(server, '/signin/link', body);
    return { response, text: await response.text() };
  }

  /** Asks for a link and returns the mail that arrived for it (and its token). */
  async function linkMail(body: unknown): Promise<{ mail: ParsedMail; token: string }> {
    const before = receiver.received.length;
    const { response } = await ask(body);
    assert.equal(response.status, 202);
    const mail = (await receiver.arrived(before + 1))[before]!;
    const token = tokenOf(mail);
    secrets.push(token);
    return { mail, token };
  }

  async function signIn(token: string): Promise<Grant> {
    const grant = await redeem(server, token);
    if (grant.status === 200) secrets.push(String(grant.body.access_token), String(grant.body.refresh_token));
    return grant;
  }

  it('request → the mail arrives → its token signs in once (access and refresh), marks the address verified, and is audited', async () => {
    await account('link-alice', 'alice-first-password-1', 'Alice@Example.test');
    const { mail, token } = await linkMail({ email: 'alice@EXAMPLE.test' });
    assert.deepEqual(
      addressesOf(mail.to).map((address) => address.toLowerCase()),
      ['alice@example.test'],
    );
    assert.equal(mail.subject, 'Acme ID: your sign-in link');
    assert.ok(token.length >= 43, 'at least 256 bits, base64url');
    assert.ok(mail.text!.includes(`${PUBLIC_URL}/sign-in?token=${token}`));
    assert.ok(mail.text!.includes(`sign-in code: ${token}`), 'the token itself, for API clients');
    assert.ok(mail.text!.includes('within 15 minutes (until 2026-12-01 09:15 UTC)'), mail.text);
    assert.ok(String(mail.html).includes(`href="${PUBLIC_URL}/sign-in?token=${token}"`));

    const grant = await signIn(token);
    assert.equal(grant.status, 200, JSON.stringify(grant.body));
    assert.deepEqual(Object.keys(grant.body).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']);
    assert.equal(grant.body.token_type, 'bearer');
    const me = await server.fetch('/users/me', { headers: bearer(String(grant.body.access_token)) });
    assert.equal(me.status, 200);
    const user = (await me.json()) as { username: string; email_verified: boolean };
    assert.equal(user.username, 'link-alice');
    assert.equal(user.email_verified, true, 'the link proved the address');
    const refreshed = await formPost(server, '/token', { grant_type: 'refresh_token', refresh_token: String(grant.body.refresh_token) });
    assert.equal(refreshed.status, 200, 'the refresh token is a session like any other');
    secrets.push(String(((await refreshed.json()) as { refresh_token: string }).refresh_token));

    const again = await signIn(token);
    assert.equal(again.status, 400);
    assert.deepEqual(again.body, { detail: INVALID_LINK, error: 'invalid_grant', error_description: INVALID_LINK });

    const events = await server.portcullis.audit.list({ type: 'login.success', subject: 'link-alice', limit: 10 });
    assert.equal(events.events.length, 1);
    assert.equal(events.events[0]!.details?.method, 'sign_in_link');
    const verified = await server.portcullis.audit.list({ type: 'user.updated', subject: 'link-alice', limit: 10 });
    assert.deepEqual(verified.events[0]?.details, { fields: 'email_verified', by: 'sign_in_link' });
  });

  it('narrows the scope as the password grant does', async () => {
    await server.portcullis.users.create({
      username: 'link-scoped',
      password: 'scoped-password-1',
      email: 'scoped@example.test',
      scopes: ['me', 'items'],
    });
    const { token } = await linkMail({ username: 'link-scoped' });
    const grant = await redeem(server, token, {}, { scope: 'me' });
    assert.equal(grant.status, 200);
    secrets.push(String(grant.body.access_token), String(grant.body.refresh_token));
    assert.equal(grant.body.scope, 'me');
  });

  it('answers unknown, disabled, mail-less and shared-address accounts with the same 202, status, body and headers, and sends nothing', async () => {
    await account('link-erin', 'erin-first-password-1', 'erin@example.test');
    await account('link-frank', 'frank-first-password-1', null);
    await account('link-gina', 'gina-first-password-1', 'link-shared@example.test');
    await account('link-hal', 'hal-first-password-1', 'LINK-SHARED@example.test');
    await account('link-ivy', 'ivy-first-password-1', 'ivy@example.test');
    await server.portcullis.users.setDisabled('link-ivy', true);
    await server.portcullis.signInLinks.settled();
    await waitForEmptyOutbox(server, clock);
    const before = receiver.received.length;
    const known = await ask({ username: 'link-erin' });
    const answers = [
      await ask({ username: 'no-such-user' }),
      await ask({ email: 'nobody@example.test' }),
      await ask({ username: 'link-frank' }),
      await ask({ email: 'link-shared@example.test' }),
      await ask({ username: 'link-ivy' }),
    ];
    const headers = (response: Response) => [...response.headers.entries()].filter(([name]) => !VARYING_HEADERS.has(name)).sort();
    assert.equal(known.response.status, 202);
    for (const answer of answers) {
      assert.equal(answer.response.status, 202);
      assert.equal(answer.text, known.text);
      assert.deepEqual(headers(answer.response), headers(known.response));
    }
    await server.portcullis.signInLinks.settled();
    const arrived = await receiver.arrived(before + 1);
    await waitForEmptyOutbox(server, clock);
    assert.equal(receiver.received.length, before + 1, 'only the known account got a mail');
    assert.deepEqual(addressesOf(arrived[before]!.to), ['erin@example.test']);
    secrets.push(tokenOf(arrived[before]!));
  });

  it('past SIGN_IN_LINK_MAILS_PER_HOUR for one account: the same 202, and no more mail', async () => {
    await account('link-jay', 'jay-first-password-1', 'jay@example.test');
    await server.portcullis.signInLinks.settled();
    await waitForEmptyOutbox(server, clock);
    const before = receiver.received.length;
    const answers = [];
    for (let i = 0; i < 5; i += 1) answers.push(await ask({ username: 'link-jay' }));
    for (const answer of answers) {
      assert.equal(answer.response.status, 202);
      assert.equal(answer.text, answers[0]!.text);
    }
    await server.portcullis.signInLinks.settled();
    const arrived = await receiver.arrived(before + 3);
    await waitForEmptyOutbox(server, clock);
    assert.equal(receiver.received.length, before + 3, 'three mails (the limit), not five');
    secrets.push(...arrived.slice(before).map(tokenOf));
  });

  it('refuses an expired token, an unknown one, a password reset token and a missing one', async () => {
    await account('link-bob', 'bob-first-password-1', 'bob@example.test');
    const { token } = await linkMail({ username: 'link-bob' });
    assert.equal((await signIn('A'.repeat(43))).status, 400);
    const missing = await redeem(server, '');
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error, 'invalid_request');

    // A reset token is no sign-in link, and a sign-in link is no reset token.
    const before = receiver.received.length;
    assert.equal((await jsonPost(server, '/password/forgot', { username: 'link-bob' })).status, 202);
    const resetMail = (await receiver.arrived(before + 1))[before]!;
    const resetToken = /reset-password\?token=([A-Za-z0-9_-]+)/.exec(resetMail.text ?? '')?.[1];
    assert.ok(resetToken);
    secrets.push(resetToken);
    const other = await signIn(resetToken);
    assert.equal(other.status, 400);
    assert.equal(other.body.error, 'invalid_grant');
    assert.equal((await jsonPost(server, '/password/reset', { token, new_password: 'bob-second-password-2' })).status, 400);

    clock.advance(15 * 60_000 + 1);
    const expired = await signIn(token);
    assert.equal(expired.status, 400);
    assert.equal(expired.body.error_description, INVALID_LINK);
  });

  it('a password change voids an unused link; using one link voids the others', async () => {
    await account('link-carol', 'carol-first-password-1', 'carol@example.test');
    const first = await linkMail({ username: 'link-carol' });
    const second = await linkMail({ username: 'link-carol' });
    assert.equal((await signIn(second.token)).status, 200);
    assert.equal((await signIn(first.token)).status, 400, 'the earlier link was voided by the use of the later one');

    const pending = await linkMail({ username: 'link-carol' });
    const login = await formPost(server, '/token', { username: 'link-carol', password: 'carol-first-password-1' });
    const access = ((await login.json()) as { access_token: string }).access_token;
    secrets.push(access, 'carol-changed-password-2');
    const change = await server.fetch('/users/me/password', {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...bearer(access) },
      body: JSON.stringify({ current_password: 'carol-first-password-1', new_password: 'carol-changed-password-2' }),
    });
    assert.equal(change.status, 204, await change.text());
    assert.equal((await signIn(pending.token)).status, 400, 'the password change voided the link');
  });

  it('refuses a user disabled after the mail (401 invalid_grant), and a link mailed to an address changed since (400)', async () => {
    await account('link-dora', 'dora-first-password-1', 'dora@example.test');
    const { token } = await linkMail({ username: 'link-dora' });
    await server.portcullis.users.setDisabled('link-dora', true);
    const refused = await signIn(token);
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error, 'invalid_grant');
    assert.equal(refused.body.detail, 'Inactive user');

    await account('link-moved', 'moved-first-password-1', 'old@example.test');
    const moved = await linkMail({ username: 'link-moved' });
    await server.portcullis.users.update('link-moved', { email: 'new@example.test' });
    const grant = await signIn(moved.token);
    assert.equal(grant.status, 400, 'the old address no longer reaches the account: its link was voided with the change');
    const user = await server.portcullis.users.get('link-moved');
    assert.equal(user.emailVerified, false, 'the old address proves nothing about the new one');
  });

  it('lets exactly one of two concurrent redeems of one link open a session', async () => {
    await account('link-race', 'race-first-password-1', 'race@example.test');
    const { token } = await linkMail({ username: 'link-race' });
    const grants = await Promise.all([signIn(token), signIn(token)]);
    assert.deepEqual(grants.map((grant) => grant.status).sort(), [200, 400]);
    const user = await server.portcullis.users.get('link-race');
    assert.equal((await server.portcullis.sessions.listActive(user)).length, 1);
  });

  it('advertises the grant in the authorization server metadata', async () => {
    const response = await server.fetch('/.well-known/oauth-authorization-server');
    const metadata = (await response.json()) as { grant_types_supported: string[] };
    assert.ok(metadata.grant_types_supported.includes(SIGN_IN_LINK_GRANT));
  });

  it('refuses neither or both of email and username with 400', async () => {
    assert.equal((await ask({})).response.status, 400);
    assert.equal((await ask({ email: 'a@example.test', username: 'a' })).response.status, 400);
    assert.equal((await ask({ email: 'a@example.test', extra: 1 })).response.status, 400);
  });

  it('writes no token and no password to the log', async () => {
    await server.portcullis.signInLinks.settled();
    await waitForEmptyOutbox(server, clock);
    assert.ok(logLines.length > 0, 'the log was captured');
    assert.ok(secrets.length > 10);
    for (const secret of secrets) {
      const line = logLines.find((entry) => entry.includes(secret));
      assert.equal(line, undefined, `a secret is in the log: ${line}`);
    }
  });
});

describe('the sign-in link as the way past a login throttle', () => {
  const PASSWORD = 'the owner knows this one 1';
  let receiver: SmtpReceiver;
  let server: TestServer;
  before(async () => {
    receiver = await startPlainSmtpReceiver();
    server = await startTestServer(
      {
        ...mailSettings(receiver),
        SIGN_IN_LINKS: 'on',
        TRUSTED_PROXIES: '127.0.0.1',
        RATE_LIMIT_ACCOUNT_BURST: '3',
        RATE_LIMIT_ACCOUNT_PER_MINUTE: '1',
        RATE_LIMIT_IP_BURST: '5',
        RATE_LIMIT_IP_PER_MINUTE: '1',
        // No backoff may run out while the test works.
        LOGIN_BACKOFF_BASE_SECONDS: '300',
      },
      // Nor may a bucket refill: the time stands still.
      { clock: fixedClock(Date.parse('2026-12-01T09:00:00Z')) },
    );
    await server.portcullis.users.create({ username: 'owner', password: PASSWORD, email: 'owner@example.test' });
  });
  after(() => stopMailTestServer(server, receiver));

  function login(password: string, ip: string): Promise<Response> {
    return formPostWith(server, '/token', { username: 'owner', password }, from(ip));
  }

  it('an account under attack: the owner, on a new device, asks for a link, gets it by mail and signs in with no challenge solved', async () => {
    // A guesser on one address (its backoff engages) and a botnet on many (the account bucket runs dry).
    const guesser = randomClientIp();
    for (let i = 0; i < 3; i += 1) await login(`guess-${i}`, guesser);
    const botnet: number[] = [];
    for (let i = 0; i < 8; i += 1) botnet.push((await login(`stuffed-${i}`, randomClientIp())).status);
    assert.ok(botnet.includes(429), `the account is throttled: ${botnet.join(' ')}`);

    const home = randomClientIp();
    const throttled = await login(PASSWORD, home);
    assert.equal(throttled.status, 429, 'the right password from a new device waits, as everyone does');
    const body = (await throttled.json()) as Record<string, unknown>;
    assert.ok(body.challenge, 'the challenge is still offered');
    assert.equal(body.sign_in_link, true, 'and the way in without work is named');
    assert.match(String(body.error_description), /sign-in link by e-mail, which needs no work/);

    const before = receiver.received.length;
    const asked = await jsonPost(server, '/signin/link', { email: 'owner@example.test' }, from(home));
    assert.equal(asked.status, 202);
    const mail = (await receiver.arrived(before + 1))[before]!;
    const grant = await redeem(server, tokenOf(mail), from(home));
    assert.equal(grant.status, 200, JSON.stringify(grant.body));
    const me = await server.fetch('/users/me', { headers: bearer(String(grant.body.access_token)) });
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as { username: string }).username, 'owner');

    // The link cleared nothing: the attack's throttles stand.
    assert.equal((await login('guess-again', guesser)).status, 429, "the guesser's backoff stands");
    assert.equal((await login(PASSWORD, randomClientIp())).status, 429, "the account's bucket is still empty");
  });

  it("spends only the client address's bucket: the grant and the request are refused with 429 past it", async () => {
    const ip = randomClientIp();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) statuses.push((await redeem(server, `not-a-token-${i}`, from(ip))).status);
    assert.deepEqual(statuses, [400, 400, 400, 400, 400, 429]);
    const asked = await jsonPost(server, '/signin/link', { username: 'owner' }, from(ip));
    assert.equal(asked.status, 429);
  });
});

describe('sign-in links off (the default)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({});
  });
  after(() => server.stop());

  it('answers POST /signin/link with 404 and a detail that says so, and the grant with unsupported_grant_type', async () => {
    const response = await jsonPost(server, '/signin/link', { username: 'anyone' });
    assert.equal(response.status, 404);
    assert.deepEqual(await response.json(), { detail: 'Sign-in links are not enabled on this server (SIGN_IN_LINKS=off)' });
    const grant = await redeem(server, 'A'.repeat(43));
    assert.equal(grant.status, 400);
    assert.equal(grant.body.error, 'unsupported_grant_type');
    const metadata = (await (await server.fetch('/.well-known/oauth-authorization-server')).json()) as { grant_types_supported: string[] };
    assert.deepEqual(metadata.grant_types_supported, ['password', 'refresh_token', 'client_credentials', 'authorization_code', MFA_GRANT]);
  });
});

describe('sign-in links without a mail channel (production, no SMTP_URL)', () => {
  let production: TestServer;
  before(async () => {
    production = await startTestServer({ NODE_ENV: 'production', SIGN_IN_LINKS: 'on' });
  });
  after(() => production.stop());

  it('answers POST /signin/link with 503 and a clear detail', async () => {
    const response = await jsonPost(production, '/signin/link', { username: 'anyone' });
    assert.equal(response.status, 503);
    assert.deepEqual(await response.json(), { detail: 'Mail is not configured on this server' });
  });
});

describe('a sign-in link under MFA_POLICY=all', () => {
  let receiver: SmtpReceiver;
  let server: TestServer;

  before(async () => {
    ({ receiver, server } = await startMailTestServer(
      { SIGN_IN_LINKS: 'on', MFA_POLICY: 'all' },
      { clock: fixedClock(Date.parse('2026-12-01T09:00:00Z')), logLines: [] },
    ));
  });
  after(() => stopMailTestServer(server, receiver));

  it('is one factor: a user without a second factor is asked to enrol one, and gets no tokens', async () => {
    const before = receiver.received.length;
    assert.equal((await signUp(server, 'policy-link', 'policy link password 1', { email: 'policy@example.test' })).status, 201);
    assert.equal((await jsonPost(server, '/signin/link', { username: 'policy-link' })).status, 202);
    const mails = await receiver.arrived(before + 2);
    const link = mails.slice(before).find((mail) => /sign-in\?token=/.test(mail.text ?? ''));
    assert.ok(link, 'the sign-in link mail (beside the verification mail)');
    const grant = await redeem(server, tokenOf(link));
    assert.equal(grant.status, 401, JSON.stringify(grant.body));
    assert.equal(grant.body.error, 'mfa_required');
    assert.equal(grant.body.enrolment_required, true);
    assert.deepEqual(grant.body.factors, []);
    assert.equal(grant.body.access_token, undefined);
  });
});
