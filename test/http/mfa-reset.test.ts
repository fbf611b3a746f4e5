/**
 * Resetting a user's second factors (issue 15): `DELETE /admin/users/{name}/factors` over HTTP, with
 * the notice mail arriving at a real SMTP server in this process, and `portcullis users
 * reset-factors NAME` from the built CLI on the server's database (npm run build first). After
 * either, the password alone logs in again; both are audited.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { URI, type TOTP } from 'otpauth';
import { fixedClock } from '../../src/core/clock.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { smtpUrl, startPlainSmtpReceiver, stopMailTestServer } from '../helpers/mail-server.js';
import { addressesOf, type SmtpReceiver } from '../helpers/smtp-receiver.js';
import { bearer, formPost, jsonPost, login, startTestServer, type TestServer } from '../helpers/server.js';

const ADMIN_PASSWORD = 'reset-Admin-passphrase-31';
const PASSWORD = 'rosa-first-passphrase-1';

describe('resetting second factors', () => {
  let receiver: SmtpReceiver;
  let server: TestServer;
  const clock = fixedClock(Date.parse('2026-12-01T09:00:10Z'));

  before(async () => {
    receiver = await startPlainSmtpReceiver();
    server = await startTestServer(
      { SMTP_URL: smtpUrl(receiver), MAIL_FROM: 'Acme ID <no-reply@portcullis.test>', PUBLIC_URL: 'https://id.portcullis.test' },
      { clock },
    );
    await server.portcullis.users.create({ username: 'root', password: ADMIN_PASSWORD, scopes: ['admin'] });
    await server.portcullis.users.create({ username: 'rosa', password: PASSWORD, email: 'rosa@example.test' });
  });
  after(() => stopMailTestServer(server, receiver));

  async function enrol(): Promise<void> {
    const token = await login(server, 'rosa', PASSWORD);
    const started = await jsonPost(server, '/users/me/factors/totp', { current_password: PASSWORD }, bearer(token));
    const { id, otpauth_uri: uri } = (await started.json()) as { id: string; otpauth_uri: string };
    const code = (URI.parse(uri) as TOTP).generate({ timestamp: clock.now() });
    assert.equal((await jsonPost(server, `/users/me/factors/totp/${id}/confirm`, { code }, bearer(token))).status, 200);
    assert.equal((await formPost(server, '/token', { username: 'rosa', password: PASSWORD })).status, 401, 'two steps now');
  }

  it('an admin removes them: one step again, the user is told by mail, and it is audited', async () => {
    await enrol();
    const admin = await login(server, 'root', ADMIN_PASSWORD);
    const arrived = receiver.received.length;
    const response = await server.fetch('/admin/users/rosa/factors', { method: 'DELETE', headers: bearer(admin) });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { removed: 1, notified: true });
    const mails = await receiver.arrived(arrived + 1);
    const mail = mails[arrived]!;
    assert.deepEqual(addressesOf(mail.to), ['rosa@example.test']);
    assert.match(mail.subject ?? '', /second factors were removed/);
    assert.equal((await formPost(server, '/token', { username: 'rosa', password: PASSWORD })).status, 200);

    const audit = await server.fetch('/admin/audit?type=factor.reset', { headers: bearer(admin) });
    const events = ((await audit.json()) as { events: Array<Record<string, unknown>> }).events;
    assert.equal(events[0]?.actor, 'root');
    assert.equal(events[0]?.subject, 'rosa');

    const none = await server.fetch('/admin/users/rosa/factors', { method: 'DELETE', headers: bearer(admin) });
    assert.deepEqual(await none.json(), { removed: 0, notified: false });
    assert.equal((await server.fetch('/admin/users/nobody/factors', { method: 'DELETE', headers: bearer(admin) })).status, 404);
  });

  it('portcullis users reset-factors NAME does the same from the command line', async () => {
    await enrol();
    const result = await runCli(['users', 'reset-factors', 'rosa'], {
      env: cliEnv(server.dataDir, { ...server.sameDatabase, SMTP_URL: smtpUrl(receiver), MAIL_FROM: 'no-reply@portcullis.test' }),
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Removed 1 second factor and the recovery codes of rosa; queued a notice mail/);
    assert.equal((await formPost(server, '/token', { username: 'rosa', password: PASSWORD })).status, 200);
  });
});
