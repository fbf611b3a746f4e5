/**
 * E-mail verification and login by e-mail over HTTP (issue 14), end to end: the server (in this
 * process, with a fixed clock, a captured log and REQUIRE_VERIFIED_EMAIL=on) sends its mail through
 * a real SMTP server in this process, and every token is taken from the mail that arrived. Waits are
 * on arrivals and on the server's own "requests answered so far are done", never on time. Runs on
 * SQLite and, with --database=postgres, on PostgreSQL (the race of two accounts verifying one address).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ParsedMail } from 'mailparser';
import { fixedClock } from '../../src/core/clock.js';
import { hashSecret } from '../../src/core/secrets.js';
import { loadConfig } from '../../src/server/config.js';
import { bearer, formPost, jsonPost, signUp, type TestServer } from '../helpers/server.js';
import { MAIL_PUBLIC_URL as PUBLIC_URL, startMailTestServer, stopMailTestServer } from '../helpers/mail-server.js';
import { addressesOf, type SmtpReceiver } from '../helpers/smtp-receiver.js';

const INVALID_TOKEN = 'Invalid or expired e-mail verification token';
const NOT_VERIFIED =
  'E-mail address not verified: open the link in the verification mail, or ask for a new one at POST /email/verify/resend';
const VARYING_HEADERS = new Set(['date', 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit', 'retry-after']);

let receiver: SmtpReceiver;
let server: TestServer;
const clock = fixedClock(Date.parse('2026-12-01T09:00:00Z'));
const logLines: string[] = [];
/** Every token and password this file used: none may be in the log. */
const secrets: string[] = [];
/** How many received mails the tests have looked at: the next one to wait for is after these. */
let seen = 0;

before(async () => {
  ({ receiver, server } = await startMailTestServer(
    { REQUIRE_VERIFIED_EMAIL: 'on', EMAIL_VERIFICATION_MAILS_PER_HOUR: '2' },
    { clock, logLines },
  ));
});

after(() => stopMailTestServer(server, receiver));

function remember(...values: string[]): void {
  secrets.push(...values);
}

/** The mails that arrive next (in the order sent), `count` of them. */
async function nextMails(count: number): Promise<ParsedMail[]> {
  const mails = (await receiver.arrived(seen + count)).slice(seen, seen + count);
  seen += count;
  return mails;
}

function recipient(mail: ParsedMail): string {
  return addressesOf(mail.to)
    .map((address) => address.toLowerCase())
    .join(',');
}

function tokenOf(mail: ParsedMail): string {
  const token = /verify-email\?token=([A-Za-z0-9_-]+)/.exec(mail.text ?? '')?.[1];
  assert.ok(token, `a token in the mail: ${mail.text}`);
  remember(token);
  return token;
}

/** Signs up (with an address: its verification mail arrives) and returns the mail's token. */
async function account(username: string, password: string, email: string): Promise<string> {
  remember(password);
  const response = await signUp(server, username, password, { email });
  assert.equal(response.status, 201, await response.text());
  const [mail] = await nextMails(1);
  assert.equal(recipient(mail!), email.toLowerCase());
  return tokenOf(mail!);
}

function verify(token: string): Promise<Response> {
  return jsonPost(server, '/email/verify', { token });
}

async function tokens(username: string, password: string): Promise<{ status: number; detail?: string; access?: string; refresh?: string }> {
  const response = await formPost(server, '/token', { username, password });
  const body = (await response.json()) as { access_token?: string; refresh_token?: string; error_description?: string };
  if (response.status !== 200) return { status: response.status, ...(body.error_description ? { detail: body.error_description } : {}) };
  remember(body.access_token!, body.refresh_token!);
  return { status: 200, access: body.access_token!, refresh: body.refresh_token! };
}

function claimsOf(accessToken: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

async function me(accessToken: string): Promise<{ email: string | null; email_verified: boolean }> {
  const response = await server.fetch('/users/me', { headers: bearer(accessToken) });
  assert.equal(response.status, 200);
  return (await response.json()) as { email: string | null; email_verified: boolean };
}

async function resend(body: unknown): Promise<{ response: Response; text: string }> {
  const response = await jsonPost(server, '/email/verify/resend', body);
  return { response, text: await response.text() };
}

function changeEmail(accessToken: string, email: string, currentPassword: string): Promise<Response> {
  return server.fetch('/users/me/email', {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...bearer(accessToken) },
    body: JSON.stringify({ email, current_password: currentPassword }),
  });
}

describe('e-mail verification', () => {
  it('sign-up → the mail arrives → its link verifies; REQUIRE_VERIFIED_EMAIL refuses the login before and admits it after; the claims follow', async () => {
    const token = await account('verify-alice', 'alice-password-1', 'Alice@Example.test');
    const mail = receiver.received[seen - 1]!;
    assert.equal(mail.subject, 'Acme ID: confirm your e-mail address');
    assert.ok(token.length >= 43, 'at least 256 bits, base64url');
    assert.ok(mail.text!.includes(`${PUBLIC_URL}/verify-email?token=${token}`));
    assert.ok(mail.text!.includes('within 24 hours (until 2026-12-02 09:00 UTC)'), mail.text);
    assert.ok(String(mail.html).includes(`href="${PUBLIC_URL}/verify-email?token=${token}"`));

    // Before: the right password is refused with the specific error; a wrong one is just wrong.
    const refused = await tokens('verify-alice', 'alice-password-1');
    assert.equal(refused.status, 401);
    assert.equal(refused.detail, NOT_VERIFIED);
    assert.equal((await tokens('verify-alice', 'wrong-password-1')).detail, 'Incorrect username or password');
    // Login by an unverified address finds no account.
    assert.equal((await tokens('alice@example.test', 'alice-password-1')).detail, 'Incorrect username or password');

    const verified = await verify(token);
    assert.equal(verified.status, 204, await verified.text());
    assert.equal(verified.headers.get('cache-control'), 'no-store');
    const session = await tokens('verify-alice', 'alice-password-1');
    assert.equal(session.status, 200);
    assert.deepEqual(await me(session.access!).then((user) => [user.email, user.email_verified]), ['Alice@Example.test', true]);
    const claims = claimsOf(session.access!);
    assert.equal(claims.email, 'Alice@Example.test');
    assert.equal(claims.email_verified, true);

    // Single use.
    const again = await verify(token);
    assert.equal(again.status, 400);
    assert.deepEqual(await again.json(), { detail: INVALID_TOKEN });
  });

  it('login by e-mail: a verified address, case-insensitively; the same account for the login backoff; a username always wins', async () => {
    await verify(await account('verify-bob', 'bob-password-1', 'bob@example.test')).then((r) => assert.equal(r.status, 204));
    const byAddress = await tokens('BOB@Example.TEST', 'bob-password-1');
    assert.equal(byAddress.status, 200);
    assert.equal(claimsOf(byAddress.access!).sub, 'verify-bob');
    assert.equal((await tokens('bob@example.test', 'wrong-password')).status, 401);

    // A username that is another account's verified address is refused at sign-up...
    const squat = await signUp(server, 'BOB@example.test', 'squatter-password-1');
    assert.equal(squat.status, 409);
    // ...but one taken before the address was verified wins for that string (documented).
    remember('carol-password-1', 'dave-password-1');
    assert.equal((await signUp(server, 'carol@example.test', 'carol-password-1')).status, 201);
    const daveToken = await account('verify-dave', 'dave-password-1', 'carol@example.test');
    assert.equal((await verify(daveToken)).status, 204);
    const login = await tokens('carol@example.test', 'dave-password-1');
    assert.equal(login.status, 401, 'the username carol@example.test is tried, not dave');
  });

  it('the login guard counts an account the same whichever identifier is typed', async () => {
    await verify(await account('verify-erin', 'erin-password-1', 'erin@example.test')).then((r) => assert.equal(r.status, 204));
    const guarded = await startGuardCheck();
    assert.ok(guarded);
  });

  it('refuses an expired token, a token of another purpose and an unknown one alike, with 400', async () => {
    const token = await account('verify-frank', 'frank-password-1', 'frank@example.test');
    clock.advance(24 * 3_600_000 + 1);
    const expired = await verify(token);
    assert.equal(expired.status, 400);
    assert.deepEqual(await expired.json(), { detail: INVALID_TOKEN });
    assert.deepEqual(await (await verify('x'.repeat(43))).json(), { detail: INVALID_TOKEN });
    // A password reset token is no verification token.
    const forgot = await jsonPost(server, '/password/forgot', { username: 'verify-frank' });
    assert.equal(forgot.status, 202);
    await server.portcullis.passwordResets.settled();
    const [resetMail] = await nextMails(1);
    const resetToken = /reset-password\?token=([A-Za-z0-9_-]+)/.exec(resetMail!.text ?? '')?.[1];
    assert.ok(resetToken);
    remember(resetToken);
    const other = await verify(resetToken);
    assert.equal(other.status, 400);
    assert.deepEqual(await other.json(), { detail: INVALID_TOKEN });
  });

  it('resend: 202 alike (status, body, headers) for unknown, verified and unverified accounts; a mail only for the unverified, and the new link voids the old', async () => {
    const first = await account('verify-gina', 'gina-password-1', 'gina@example.test');
    await verify(await account('verify-hank', 'hank-password-1', 'hank@example.test')).then((r) => assert.equal(r.status, 204));
    const answers = [
      await resend({ username: 'nobody-at-all' }),
      await resend({ email: 'nobody@example.test' }),
      await resend({ username: 'verify-hank' }),
      await resend({ email: 'GINA@example.test' }),
    ];
    for (const { response, text } of answers) {
      assert.equal(response.status, 202);
      assert.equal(text, answers[0]!.text);
      assert.deepEqual(headerNames(response), headerNames(answers[0]!.response));
      for (const [name, value] of answers[0]!.response.headers) {
        if (!VARYING_HEADERS.has(name)) assert.equal(response.headers.get(name), value, name);
      }
    }
    await server.portcullis.emailVerifications.settled();
    const [mail] = await nextMails(1);
    assert.equal(recipient(mail!), 'gina@example.test', 'only the unverified account got a mail');
    const second = tokenOf(mail!);
    assert.equal((await verify(first)).status, 400, 'the earlier link is void');
    // Per account: EMAIL_VERIFICATION_MAILS_PER_HOUR=2, one spent above; the third asks send nothing.
    assert.equal((await resend({ username: 'verify-gina' })).response.status, 202);
    assert.equal((await resend({ username: 'verify-gina' })).response.status, 202);
    await server.portcullis.emailVerifications.settled();
    const [extra] = await nextMails(1);
    const third = tokenOf(extra!);
    assert.equal((await verify(second)).status, 400);
    assert.equal((await verify(third)).status, 204);
    await server.portcullis.emailVerifications.settled();
    assert.equal(receiver.received.length, seen, 'no mail past the per-account limit');
    assert.equal((await resend({})).response.status, 400);
    assert.equal((await resend({ email: 'a@example.test', username: 'a' })).response.status, 400);
  });

  it('change of address: the old one stays (and logs in) until the new one is verified; both addresses are told', async () => {
    await verify(await account('verify-ivy', 'ivy-password-1', 'ivy@old.example.test')).then((r) => assert.equal(r.status, 204));
    const session = await tokens('ivy@old.example.test', 'ivy-password-1');
    assert.equal(session.status, 200);
    const wrong = await changeEmail(session.access!, 'ivy@new.example.test', 'not-the-password');
    assert.equal(wrong.status, 400);
    const asked = await changeEmail(session.access!, 'Ivy@New.example.test', 'ivy-password-1');
    assert.equal(asked.status, 202, await asked.text());
    const mails = await nextMails(2);
    const verification = mails.find((mail) => recipient(mail) === 'ivy@new.example.test');
    const notice = mails.find((mail) => recipient(mail) === 'ivy@old.example.test');
    assert.ok(verification && notice);
    assert.equal(notice.subject, 'Acme ID: a change of your e-mail address was asked for');
    assert.ok(notice.text!.includes('to Ivy@New.example.test'), notice.text);
    assert.ok(notice.text!.includes(`${PUBLIC_URL}/reset-password`));
    const token = tokenOf(verification);
    // A reset mail asked for meanwhile goes to the old address, and is void once the new one is verified.
    assert.equal((await jsonPost(server, '/password/forgot', { username: 'verify-ivy' })).status, 202);
    const [resetMail] = await nextMails(1);
    assert.equal(recipient(resetMail!), 'ivy@old.example.test');
    const resetToken = /reset-password\?token=([A-Za-z0-9_-]+)/.exec(resetMail!.text ?? '')?.[1];
    assert.ok(resetToken);
    remember(resetToken);

    // Until verified: the old address is still the account's, verified, and logs in; the new one does not.
    assert.deepEqual(await me(session.access!).then((user) => [user.email, user.email_verified]), ['ivy@old.example.test', true]);
    assert.equal((await tokens('ivy@old.example.test', 'ivy-password-1')).status, 200);
    assert.equal((await tokens('ivy@new.example.test', 'ivy-password-1')).status, 401);

    assert.equal((await verify(token)).status, 204);
    const [changed] = await nextMails(1);
    assert.equal(recipient(changed!), 'ivy@old.example.test');
    assert.equal(changed!.subject, 'Acme ID: your e-mail address was changed');
    assert.ok(changed!.text!.includes('is now Ivy@New.example.test'));
    assert.equal((await tokens('ivy@new.example.test', 'ivy-password-1')).status, 200);
    assert.equal((await tokens('ivy@old.example.test', 'ivy-password-1')).status, 401);
    const lateReset = await jsonPost(server, '/password/reset', { token: resetToken, new_password: 'ivy-second-passphrase-2' });
    assert.equal(lateReset.status, 400, 'the reset mailed to the old address no longer works');
    // A token issued before the change still says what was true when it was issued, until refreshed.
    assert.equal(claimsOf(session.access!).email, 'ivy@old.example.test');
    const refreshed = await formPost(server, '/token', { grant_type: 'refresh_token', refresh_token: session.refresh! });
    assert.equal(refreshed.status, 200);
    const body = (await refreshed.json()) as { access_token: string; refresh_token: string };
    remember(body.access_token, body.refresh_token);
    assert.equal(claimsOf(body.access_token).email, 'Ivy@New.example.test');
  });

  it('an operator marks an address verified or not (admin PATCH) and sets one directly, which voids earlier links', async () => {
    const pending = await account('verify-jack', 'jack-password-1', 'jack@example.test');
    remember('root-password-1');
    await server.portcullis.users.create({
      username: 'verify-root',
      password: 'root-password-1',
      email: 'root@example.test',
      emailVerified: true,
      scopes: ['admin'],
    });
    const admin = (await tokens('verify-root', 'root-password-1')).access!;
    const patch = (body: unknown) =>
      server.fetch('/admin/users/verify-jack', {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', ...bearer(admin) },
        body: JSON.stringify(body),
      });
    const marked = await patch({ email_verified: true });
    assert.equal(marked.status, 200);
    assert.equal(((await marked.json()) as { email_verified: boolean }).email_verified, true);
    assert.equal((await tokens('verify-jack', 'jack-password-1')).status, 200);
    const moved = await patch({ email: 'jack@elsewhere.test' });
    assert.equal(((await moved.json()) as { email_verified: boolean }).email_verified, false);
    assert.equal((await verify(pending)).status, 400, 'the link mailed before the operator set the address is void');
    const taken = await patch({ email: 'root@example.test', email_verified: true });
    assert.equal(taken.status, 409);
  });

  it('two accounts verifying one address at once: one wins, the other is answered 409 and its token stays unused', async () => {
    const one = await account('verify-kim', 'kim-password-1', 'shared@example.test');
    const two = await account('verify-lee', 'lee-password-1', 'SHARED@example.test');
    const answers = await Promise.all([verify(one), verify(two)]);
    const statuses = answers.map((answer) => answer.status).sort();
    assert.deepEqual(statuses, [204, 409]);
    const loser = answers[0]!.status === 409 ? one : two;
    const record = await server.storage.mailTokens.find(hashSecret(loser));
    assert.equal(record?.usedAt, null, "the loser's token was not used");
    assert.equal((await tokens('shared@example.test', answers[0]!.status === 204 ? 'kim-password-1' : 'lee-password-1')).status, 200);
  });

  it('writes no token and no password to the log', async () => {
    await server.portcullis.emailVerifications.settled();
    await server.portcullis.passwordResets.settled();
    assert.ok(logLines.length > 0, 'the log was captured');
    assert.ok(secrets.length > 10);
    for (const secret of secrets) {
      const line = logLines.find((entry) => entry.includes(secret));
      assert.equal(line, undefined, `a secret is in the log: ${line}`);
    }
  });
});

describe('REQUIRE_VERIFIED_EMAIL without a mail channel', () => {
  it('is a configuration error in production, and allowed in development (mail goes to the log there)', () => {
    const env = { SECRET_KEY: 'x'.repeat(40), REQUIRE_VERIFIED_EMAIL: 'on' };
    assert.throws(() => loadConfig({ ...env, NODE_ENV: 'production' }), /REQUIRE_VERIFIED_EMAIL=on needs a mail channel in production/);
    assert.doesNotThrow(() =>
      loadConfig({ ...env, NODE_ENV: 'production', SMTP_URL: 'smtp://mail.example.test:587', MAIL_FROM: 'id@example.test' }),
    );
    assert.equal(loadConfig(env).requireVerifiedEmail, true);
  });
});

function headerNames(response: Response): string[] {
  return [...response.headers.keys()].filter((name) => !VARYING_HEADERS.has(name)).sort();
}

/**
 * Failed logins typed as the username and as the address count against one account: with the
 * backoff's free failures spent by one identifier, the other is throttled too.
 */
async function startGuardCheck(): Promise<boolean> {
  const free = server.config.abuse.backoffFreeFailures;
  for (let i = 0; i < free; i += 1) assert.equal((await tokens('verify-erin', `wrong-${i}`)).status, 401);
  const byAddress = await tokens('ERIN@example.test', 'erin-password-1');
  return byAddress.status === 429;
}
