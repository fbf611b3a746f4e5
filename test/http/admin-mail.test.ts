/**
 * The admin API's mail routes and the outbox's pruning over HTTP (ADR 0022): the server (in this
 * process, with a fixed clock) sends through a real SMTP server in this process, on a real SQLite
 * file (a PostgreSQL database in the --database=postgres pass). GET /admin/mail/outbox counts,
 * POST /admin/users/{username}/password-reset queues a reset mail, and the relay deletes what is
 * past MAIL_OUTBOX_RETENTION_DAYS. Waits are on arrivals and on the relay's drained(), never on time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fixedClock } from '../../src/core/clock.js';
import { bearer, jsonPost, login, startTestServer, type TestServer } from '../helpers/server.js';
import { smtpUrl, startPlainSmtpReceiver, stopMailTestServer } from '../helpers/mail-server.js';
import { addressesOf, type SmtpReceiver } from '../helpers/smtp-receiver.js';

const ADMIN_PASSWORD = 'mail-Admin-passphrase-31';
const ROSA_PASSWORD = 'rosa-first-passphrase-1';
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

interface OutboxBody {
  queued: number;
  sending: number;
  sent: number;
  failed: number;
  oldest_queued_age_seconds: number;
}

let receiver: SmtpReceiver;
let server: TestServer;
const clock = fixedClock(Date.parse('2026-12-01T09:00:00Z'));

before(async () => {
  receiver = await startPlainSmtpReceiver({
    refuse: (address) => (address.endsWith('@bounce.test') ? 550 : address.endsWith('@busy.test') ? 450 : undefined),
  });
  server = await startTestServer(
    {
      SMTP_URL: smtpUrl(receiver),
      MAIL_FROM: 'Acme ID <no-reply@portcullis.test>',
      PUBLIC_URL: 'https://id.portcullis.test',
      MAIL_OUTBOX_RETENTION_DAYS: '7',
    },
    { clock },
  );
  const users = server.portcullis.users;
  await users.create({ username: 'root', password: ADMIN_PASSWORD, scopes: ['admin'] });
  await users.create({ username: 'rosa', password: ROSA_PASSWORD, email: 'rosa@example.test' });
  await users.create({ username: 'nomail', password: ROSA_PASSWORD });
  await users.create({ username: 'off', password: ROSA_PASSWORD, email: 'off@example.test', disabled: true });
  await users.create({ username: 'bouncer', password: ROSA_PASSWORD, email: 'bouncer@bounce.test' });
  await users.create({ username: 'busy', password: ROSA_PASSWORD, email: 'busy@busy.test' });
});

after(() => stopMailTestServer(server, receiver));

/** As the admin, with a token of the clock's present (the clock moves on by days here). */
async function asAdmin(method: 'GET' | 'POST', path: string): Promise<Response> {
  const token = await login(server, 'root', ADMIN_PASSWORD);
  return server.fetch(path, { method, headers: bearer(token) });
}

async function outbox(): Promise<OutboxBody> {
  const response = await asAdmin('GET', '/admin/mail/outbox');
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('cache-control'), 'no-store');
  return (await response.json()) as OutboxBody;
}

async function sendReset(username: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await asAdmin('POST', `/admin/users/${username}/password-reset`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('POST /admin/users/{username}/password-reset', () => {
  it('queues a reset mail: 202 with the address; the mail arrives; its token sets the password; audited with the admin as actor', async () => {
    const before = await outbox();
    const arrived = receiver.received.length;
    const { status, body } = await sendReset('rosa');
    assert.equal(status, 202);
    assert.deepEqual(body, { to: 'rosa@example.test' }, 'the address only: the token is in the mail alone');
    const mail = (await receiver.arrived(arrived + 1))[arrived]!;
    assert.deepEqual(addressesOf(mail.to), ['rosa@example.test']);
    const token = /reset-password\?token=([A-Za-z0-9_-]+)/.exec(mail.text ?? '')?.[1];
    assert.ok(token, mail.text);
    await server.mail.relay!.drained();
    const after = await outbox();
    assert.deepEqual(after, { ...before, sent: before.sent + 1 });

    const reset = await jsonPost(server, '/password/reset', { token, new_password: 'rosa-second-passphrase-2' });
    assert.equal(reset.status, 204, await reset.text());
    assert.equal((await login(server, 'rosa', 'rosa-second-passphrase-2')).length > 0, true);
    const audit = await asAdmin('GET', '/admin/audit?type=password.reset_requested&subject=rosa');
    const events = ((await audit.json()) as { events: Array<{ actor: string; outcome: string }> }).events;
    assert.deepEqual(
      events.map((event) => [event.actor, event.outcome]),
      [['root', 'success']],
    );
  });

  it('answers 404 for an unknown user, 400 for a disabled one and one without an e-mail address, and queues nothing', async () => {
    const before = await outbox();
    const unknown = await sendReset('nobody');
    assert.deepEqual(unknown, { status: 404, body: { detail: 'No user named "nobody"' } });
    const disabled = await sendReset('off');
    assert.deepEqual(disabled, { status: 400, body: { detail: 'off is disabled' } });
    const mailless = await sendReset('nomail');
    assert.deepEqual(mailless, { status: 400, body: { detail: 'nomail has no e-mail address' } });
    await server.mail.relay!.drained();
    assert.deepEqual(await outbox(), before);
  });
});

describe('GET /admin/mail/outbox and pruning', () => {
  it('counts sent, given-up and waiting messages; after MAIL_OUTBOX_RETENTION_DAYS the relay deletes the finished ones, never a waiting one', async () => {
    const before = await outbox();
    const tokens = () => server.storage.dialect.db.selectFrom('mail_tokens').select(['purpose', 'used_at']).execute();
    const tokensBefore = (await tokens()).length;
    const arrived = receiver.received.length;
    assert.equal((await sendReset('rosa')).status, 202); // sent
    assert.equal((await sendReset('bouncer')).status, 202); // 550: given up on
    assert.equal((await sendReset('busy')).status, 202); // 450: waits for its retry
    await receiver.arrived(arrived + 1);
    await server.mail.relay!.drained();
    assert.equal((await tokens()).length, tokensBefore + 3, 'a token for each mail, kept while it can be used');
    assert.deepEqual(await outbox(), {
      queued: before.queued + 1,
      sending: 0,
      sent: before.sent + 1,
      failed: before.failed + 1,
      oldest_queued_age_seconds: 0, // the clock stands still
    });

    // A minute short of the retention: nothing is deleted (the waiting message is tried again, and waits again).
    clock.advance(7 * DAY - MINUTE);
    await server.mail.relay!.drained();
    const kept = await outbox();
    assert.deepEqual([kept.queued, kept.sent, kept.failed], [before.queued + 1, before.sent + 1, before.failed + 1]);
    assert.equal(kept.oldest_queued_age_seconds, (7 * DAY - MINUTE) / 1000);

    // Past it, and past the ten minutes between two prunes: every finished message is gone; the waiting one stays.
    clock.advance(11 * MINUTE);
    await server.mail.relay!.drained();
    const pruned = await outbox();
    assert.deepEqual([pruned.queued, pruned.sent, pruned.failed], [before.queued + 1, 0, 0]);
    // The reset tokens expired 30 minutes after they were made, a day before which they are deleted too.
    assert.deepEqual(await tokens(), [], 'every mailed token, used or expired more than a day ago, is gone');
    assert.equal(receiver.received.length, arrived + 1, 'nothing more arrived: the 450 address still refuses');
  });
});

describe('the admin mail routes without a mail channel (production, no SMTP_URL)', () => {
  let production: TestServer;
  before(async () => {
    production = await startTestServer({ NODE_ENV: 'production' });
    await production.portcullis.users.create({ username: 'root', password: ADMIN_PASSWORD, scopes: ['admin'] });
    await production.portcullis.users.create({ username: 'rosa', password: ROSA_PASSWORD, email: 'rosa@example.test' });
  });
  after(() => production.stop());

  it('answers the reset with 503 and still counts the outbox', async () => {
    const token = await login(production, 'root', ADMIN_PASSWORD);
    const reset = await production.fetch('/admin/users/rosa/password-reset', { method: 'POST', headers: bearer(token) });
    assert.equal(reset.status, 503);
    assert.deepEqual(await reset.json(), { detail: 'Mail is not configured on this server' });
    const counts = await production.fetch('/admin/mail/outbox', { headers: bearer(token) });
    assert.equal(counts.status, 200);
    assert.deepEqual(await counts.json(), { queued: 0, sending: 0, sent: 0, failed: 0, oldest_queued_age_seconds: 0 });
  });
});
