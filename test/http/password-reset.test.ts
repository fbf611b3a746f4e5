/**
 * Password reset over HTTP (issue 14), end to end: the server (in this process, with a fixed clock
 * and a captured log) sends the mail through a real SMTP server in this process, and the token is
 * taken from the mail that arrived. Waits are on arrivals, on the server's own "requests
 * answered so far are done" (passwordResets.settled()) and on its mail relay's "nothing left
 * due" (mail.relay.drained()), never on time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ParsedMail } from 'mailparser';
import { fixedClock } from '../../src/core/clock.js';
import { bearer, formPost, jsonPost, signUp, startTestServer, type TestServer } from '../helpers/server.js';
import {
  MAIL_PUBLIC_URL as PUBLIC_URL,
  smtpUrl,
  startMailTestServer,
  startPlainSmtpReceiver,
  stopMailTestServer,
  waitForEmptyOutbox,
} from '../helpers/mail-server.js';
import { addressesOf, type SmtpReceiver } from '../helpers/smtp-receiver.js';

const INVALID_TOKEN = 'Invalid or expired password reset token';
const VARYING_HEADERS = new Set(['date', 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit', 'retry-after']);

let receiver: SmtpReceiver;
let server: TestServer;
const clock = fixedClock(Date.parse('2026-12-01T09:00:00Z'));
const logLines: string[] = [];
/** Every token and password this file used: none may be in the log. */
const secrets: string[] = [];

before(async () => {
  ({ receiver, server } = await startMailTestServer({ PASSWORD_RESET_MAILS_PER_HOUR: '3' }, { clock, logLines }));
});

after(() => stopMailTestServer(server, receiver));

function remember(...values: string[]): void {
  secrets.push(...values);
}

async function account(username: string, password: string, email: string | null): Promise<void> {
  remember(password);
  const before = receiver.received.length;
  const response = await signUp(server, username, password, email === null ? {} : { email });
  assert.equal(response.status, 201, await response.text());
  // A sign-up with an address sends a verification mail (queued before the 201): once it arrived,
  // what arrives next is the reset mails these tests count.
  if (email !== null) {
    const verification = (await receiver.arrived(before + 1))[before]!;
    assert.equal(verification.subject, 'Acme ID: confirm your e-mail address');
    const token = /verify-email\?token=([A-Za-z0-9_-]+)/.exec(verification.text ?? '')?.[1];
    if (token) remember(token);
  }
}

async function forgot(body: unknown): Promise<{ response: Response; text: string }> {
  const response = await jsonPost(server, '/password/forgot', body);
  return { response, text: await response.text() };
}

/** Asks for a reset and returns the mail that arrived for it (and its token). */
async function resetMail(body: unknown): Promise<{ mail: ParsedMail; token: string }> {
  const before = receiver.received.length;
  const { response } = await forgot(body);
  assert.equal(response.status, 202);
  const mail = (await receiver.arrived(before + 1))[before]!;
  const token = /reset-password\?token=([A-Za-z0-9_-]+)/.exec(mail.text ?? '')?.[1];
  assert.ok(token, `a token in the mail: ${mail.text}`);
  remember(token);
  return { mail, token };
}

function reset(token: string, password: string): Promise<Response> {
  // 'password' itself (refused by the policy) is in every route's name.
  if (password !== 'password') remember(password);
  return jsonPost(server, '/password/reset', { token, new_password: password });
}

async function tokens(username: string, password: string): Promise<{ status: number; refresh?: string; access?: string }> {
  const response = await formPost(server, '/token', { username, password });
  if (response.status !== 200) return { status: response.status };
  const body = (await response.json()) as { access_token: string; refresh_token: string };
  remember(body.access_token, body.refresh_token);
  return { status: 200, refresh: body.refresh_token, access: body.access_token };
}

/** The server finished the work of every request so far: their mails are in the outbox. */
async function quiet(): Promise<void> {
  await server.portcullis.passwordResets.settled();
}

describe('password reset by mail', () => {
  it('forgot → the mail arrives → its token sets the password (after a policy refusal that keeps it usable); old password, sessions and token are dead', async () => {
    await account('reset-alice', 'alice-first-password-1', 'Alice@Example.test');
    const old = await tokens('reset-alice', 'alice-first-password-1');
    assert.equal(old.status, 200);
    // By e-mail, case-insensitively.
    const { mail, token } = await resetMail({ email: 'alice@EXAMPLE.test' });
    assert.deepEqual(
      addressesOf(mail.to).map((address) => address.toLowerCase()),
      ['alice@example.test'],
    );
    assert.equal(mail.subject, 'Acme ID: reset your password');
    assert.ok(token.length >= 43, 'at least 256 bits, base64url');
    assert.ok(mail.text!.includes(`${PUBLIC_URL}/reset-password?token=${token}`));
    assert.ok(mail.text!.includes(`reset code: ${token}`), 'the token itself, for API clients');
    assert.ok(mail.text!.includes('within 30 minutes (until 2026-12-01 09:30 UTC)'), mail.text);
    assert.ok(String(mail.html).includes(`href="${PUBLIC_URL}/reset-password?token=${token}"`));

    const weak = await reset(token, 'password');
    assert.equal(weak.status, 400);
    assert.notEqual(((await weak.json()) as { detail: string }).detail, INVALID_TOKEN, 'the policy speaks, not the token');
    const done = await reset(token, 'alice-second-password-2');
    assert.equal(done.status, 204, await done.text());
    assert.equal((await tokens('reset-alice', 'alice-first-password-1')).status, 401, 'the old password is refused');
    assert.equal((await tokens('reset-alice', 'alice-second-password-2')).status, 200, 'the new one works');
    const refresh = await formPost(server, '/token', { grant_type: 'refresh_token', refresh_token: old.refresh! });
    assert.equal(refresh.status, 401, 'the old refresh token is dead');
    const me = await server.fetch('/users/me', { headers: bearer(old.access!) });
    assert.equal(me.status, 401, 'the old access token is dead (token version bumped)');

    const again = await reset(token, 'alice-third-password-3');
    assert.equal(again.status, 400);
    assert.equal(((await again.json()) as { detail: string }).detail, INVALID_TOKEN);
    assert.equal((await tokens('reset-alice', 'alice-second-password-2')).status, 200, 'the reuse changed nothing');
  });

  it('refuses an expired token and an unknown one alike', async () => {
    await account('reset-bob', 'bob-first-password-1', 'bob@example.test');
    const { token } = await resetMail({ username: 'Reset-Bob' });
    const unknown = await reset('A'.repeat(43), 'bob-second-password-2');
    assert.equal(unknown.status, 400);
    assert.equal(((await unknown.json()) as { detail: string }).detail, INVALID_TOKEN);
    clock.advance(30 * 60_000 + 1);
    const expired = await reset(token, 'bob-second-password-2');
    assert.equal(expired.status, 400);
    assert.equal(((await expired.json()) as { detail: string }).detail, INVALID_TOKEN);
    assert.equal((await tokens('reset-bob', 'bob-first-password-1')).status, 200, 'the password is unchanged');
  });

  it("using one token voids the user's others; a password change voids them too; a token is its user's only", async () => {
    await account('reset-carol', 'carol-first-password-1', 'carol@example.test');
    await account('reset-dave', 'dave-first-password-1', 'dave@example.test');
    const first = await resetMail({ username: 'reset-carol' });
    const second = await resetMail({ username: 'reset-carol' });
    const daves = await resetMail({ username: 'reset-dave' });
    assert.equal((await reset(second.token, 'carol-second-password-2')).status, 204);
    assert.equal((await reset(first.token, 'carol-third-password-3')).status, 400, 'the earlier token was voided');
    assert.equal((await tokens('reset-carol', 'carol-second-password-2')).status, 200);
    assert.equal((await tokens('reset-dave', 'dave-first-password-1')).status, 200, "carol's reset left dave alone");

    // A password change (PUT /users/me/password) after the mail: the mailed token must not undo it.
    const dave = await tokens('reset-dave', 'dave-first-password-1');
    const change = await server.fetch('/users/me/password', {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...bearer(dave.access!) },
      body: JSON.stringify({ current_password: 'dave-first-password-1', new_password: 'dave-changed-password-2' }),
    });
    remember('dave-changed-password-2');
    assert.equal(change.status, 204, await change.text());
    assert.equal((await reset(daves.token, 'dave-reset-password-3')).status, 400, 'the change voided the reset token');
    assert.equal((await tokens('reset-dave', 'dave-changed-password-2')).status, 200);
  });

  it('answers unknown, disabled, mail-less and shared-address accounts with the same 202, status, body and headers, and sends nothing', async () => {
    await account('reset-erin', 'erin-first-password-1', 'erin@example.test');
    await account('reset-frank', 'frank-first-password-1', null);
    await account('reset-gina', 'gina-first-password-1', 'shared@example.test');
    await account('reset-hal', 'hal-first-password-1', 'SHARED@example.test');
    await account('reset-ivy', 'ivy-first-password-1', 'ivy@example.test');
    await server.portcullis.users.setDisabled('reset-ivy', true);
    await quiet();
    const before = receiver.received.length;
    const known = await forgot({ username: 'reset-erin' });
    const answers = [
      await forgot({ username: 'no-such-user' }),
      await forgot({ email: 'nobody@example.test' }),
      await forgot({ username: 'reset-frank' }),
      await forgot({ email: 'shared@example.test' }),
      await forgot({ username: 'reset-ivy' }),
    ];
    const headers = (response: Response) => [...response.headers.entries()].filter(([name]) => !VARYING_HEADERS.has(name)).sort();
    for (const answer of answers) {
      assert.equal(answer.response.status, 202);
      assert.equal(answer.text, known.text);
      assert.deepEqual(headers(answer.response), headers(known.response));
    }
    await quiet();
    const arrived = await receiver.arrived(before + 1);
    // Nothing else was queued: the outbox has no unsent message once erin's arrived.
    await waitForEmptyOutbox(server, clock);
    assert.equal(receiver.received.length, before + 1, 'only the known account got a mail');
    assert.deepEqual(addressesOf(arrived[before]!.to), ['erin@example.test']);
  });

  it('past PASSWORD_RESET_MAILS_PER_HOUR for one account: the same 202, and no more mail', async () => {
    await account('reset-jay', 'jay-first-password-1', 'jay@example.test');
    await quiet();
    const before = receiver.received.length;
    const answers = [];
    for (let i = 0; i < 5; i += 1) answers.push(await forgot({ username: 'reset-jay' }));
    for (const answer of answers) {
      assert.equal(answer.response.status, 202);
      assert.equal(answer.text, answers[0]!.text);
    }
    await quiet();
    await receiver.arrived(before + 3);
    await waitForEmptyOutbox(server, clock);
    assert.equal(receiver.received.length, before + 3, 'three mails (the limit), not five');
  });

  it('refuses neither or both of email and username with 400', async () => {
    assert.equal((await forgot({})).response.status, 400);
    assert.equal((await forgot({ email: 'a@example.test', username: 'a' })).response.status, 400);
    assert.equal((await forgot({ email: 'a@example.test', extra: 1 })).response.status, 400);
  });

  it('writes no token and no password to the log', async () => {
    await quiet();
    await waitForEmptyOutbox(server, clock);
    assert.ok(logLines.length > 0, 'the log was captured');
    assert.ok(secrets.length > 10);
    for (const secret of secrets) {
      const line = logLines.find((entry) => entry.includes(secret));
      assert.equal(line, undefined, `a secret is in the log: ${line}`);
    }
  });
});

/** Waits for the relay to find nothing due, then checks that nothing is queued: every message queued so far was sent. */

describe('password reset without a mail channel (production, no SMTP_URL)', () => {
  let production: TestServer;
  before(async () => {
    production = await startTestServer({ NODE_ENV: 'production' });
  });
  after(() => production.stop());

  it('answers POST /password/forgot with 503 and a clear detail, whoever is asked for', async () => {
    const response = await jsonPost(production, '/password/forgot', { username: 'anyone' });
    assert.equal(response.status, 503);
    assert.deepEqual(await response.json(), { detail: 'Mail is not configured on this server' });
  });
});

/** P(a < b) over all pairs: 0.5 when the two samples come from one distribution (the Mann–Whitney AUC). */
function probabilityLess(a: readonly number[], b: readonly number[]): number {
  let less = 0;
  for (const x of a) for (const y of b) less += x < y ? 1 : x === y ? 0.5 : 0;
  return less / (a.length * b.length);
}

describe('POST /password/forgot timing', () => {
  let timed: TestServer;
  let mailbox: SmtpReceiver;
  before(async () => {
    mailbox = await startPlainSmtpReceiver();
    timed = await startTestServer({
      SMTP_URL: smtpUrl(mailbox),
      MAIL_FROM: 'no-reply@portcullis.test',
      // Every request for the known account does the whole work (a token, a transaction, a mail).
      PASSWORD_RESET_MAILS_PER_HOUR: '1000',
    });
    assert.equal((await signUp(timed, 'timed-user', 'timed-user-password-1', { email: 'timed@example.test' })).status, 201);
  });
  after(() => stopMailTestServer(timed, mailbox));

  async function ask(body: unknown): Promise<number> {
    const started = process.hrtime.bigint();
    const response = await jsonPost(timed, '/password/forgot', body);
    await response.text();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.equal(response.status, 202);
    // The work after the answer (and the mail's sending) ends before the next request, so each answer is timed on its own.
    await timed.portcullis.passwordResets.settled();
    await timed.mail.relay!.drained();
    return ms;
  }

  it('takes statistically the same time for a known and an unknown account (the work is done after the answer)', async (t) => {
    const known: number[] = [];
    const unknown: number[] = [];
    await ask({ username: 'timed-user' });
    await ask({ username: 'no-such-timed-user' });
    for (let round = 0; round < 40; round += 1) {
      // Interleaved, in random order, so drift, noise and the previous request's background work fall on both alike.
      if (Math.random() < 0.5) {
        known.push(await ask({ username: 'timed-user' }));
        unknown.push(await ask({ username: 'no-such-timed-user' }));
      } else {
        unknown.push(await ask({ username: 'no-such-timed-user' }));
        known.push(await ask({ username: 'timed-user' }));
      }
    }
    await timed.portcullis.passwordResets.settled();
    const auc = probabilityLess(unknown, known);
    const sorted = (values: number[]) => [...values].sort((x, y) => x - y);
    const summary = `median unknown ${sorted(unknown)[20]!.toFixed(2)} ms, known ${sorted(known)[20]!.toFixed(2)} ms, P(unknown < known) = ${auc.toFixed(2)}`;
    t.diagnostic(summary);
    // Ranks judge, not wall-clock thresholds: a look-up or a transaction on the response's path would put AUC near 1.
    assert.ok(auc > 0.2 && auc < 0.8, summary);
  });
});
