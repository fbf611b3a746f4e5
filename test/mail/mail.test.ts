/**
 * The mail channel end to end: `portcullis serve` (the built dist/) sends through a real SMTP server
 * in this process (STARTTLS on a self-signed certificate the children trust, a login), or a webhook
 * receiver that verifies the Standard Webhooks signature; `portcullis mail test` queues. Every wait
 * is on an arrival or a process, bounded.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { openPostgres } from '../../src/storage/sql/dialects/postgres.js';
import { migrateToLatest } from '../../src/storage/sql/migrator.js';
import { SqlOutboxStore } from '../../src/storage/sql/outbox-store.js';
import { cliEnv, makeDataDir, runCli, startServe, type ServeProcess } from '../helpers/cli.js';
import { createTestDatabase, postgresSkipReason } from '../helpers/postgres.js';
import { eventually } from '../helpers/wait.js';
import {
  addressesOf,
  selfSignedCertificate,
  SMTP_PASSWORD,
  SMTP_USER,
  startSmtpReceiver,
  type Certificate,
} from '../helpers/smtp-receiver.js';

const FROM = 'Portcullis Test <no-reply@portcullis.test>';

let certificate: Certificate;
before(() => {
  certificate = selfSignedCertificate();
});

function smtpEnv(dataDir: string, port: number, extra: Record<string, string> = {}): Record<string, string | undefined> {
  return cliEnv(dataDir, {
    SMTP_URL: `smtp://${SMTP_USER}:${SMTP_PASSWORD}@127.0.0.1:${port}`,
    MAIL_FROM: FROM,
    PUBLIC_URL: 'https://id.portcullis.test',
    PRODUCT_NAME: 'Acme ID',
    NODE_EXTRA_CA_CERTS: certificate.certPath,
    MAIL_POLL_SECONDS: '1',
    MAIL_RETRY_BASE_SECONDS: '1',
    MAIL_RETRY_MAX_SECONDS: '2',
    ...extra,
  });
}

function assertNoSecret(label: string, ...outputs: string[]): void {
  for (const output of outputs) {
    assert.ok(!output.includes(SMTP_PASSWORD), `${label}: the SMTP password is in the output`);
    assert.ok(!output.includes(`${SMTP_USER}:`), `${label}: the SMTP URL's credentials are in the output`);
  }
}

const running: ServeProcess[] = [];
after(async () => {
  await Promise.all(running.map((server) => server.stop('SIGKILL')));
});

async function serve(env: Record<string, string | undefined>): Promise<ServeProcess> {
  const server = await startServe({ ...env, WORKERS: '1' });
  running.push(server);
  return server;
}

describe('mail through SMTP', () => {
  it('portcullis mail test: the server sends it over STARTTLS with a login; From, To, subject, text and HTML arrive', async () => {
    const receiver = await startSmtpReceiver({ certificate });
    try {
      const dataDir = makeDataDir();
      const env = smtpEnv(dataDir, receiver.port);
      const server = await serve(env);
      const result = await runCli(['mail', 'test', 'bob@example.test', '--no-relay'], { env });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^sent to bob@example.test \(message [0-9a-f-]+, attempt 1\)/);
      const [mail] = await receiver.arrived(1);
      assert.deepEqual(addressesOf(mail!.from), ['no-reply@portcullis.test']);
      assert.deepEqual(addressesOf(mail!.to), ['bob@example.test']);
      assert.equal(mail!.subject, 'Acme ID: test message');
      assert.match(mail!.text ?? '', /test message from Acme ID \(https:\/\/id\.portcullis\.test\) to bob@example\.test/);
      assert.match(String(mail!.html), /<a href="https:\/\/id\.portcullis\.test">/);
      const status = await runCli(['mail', 'status', '--json'], { env });
      assert.deepEqual(JSON.parse(status.stdout), { queued: 0, sending: 0, sent: 1, failed: 0, oldestQueuedAgeMs: 0 });
      const metrics = await (await server.fetch('/metrics')).text();
      assert.match(metrics, /^portcullis_mail_sent 1$/m);
      assert.match(metrics, /^portcullis_mail_queued 0$/m);
      const stopped = await server.stop();
      assert.ok(server.logLines().some((line) => String(line.msg).startsWith('mail: sent through SMTP smtp://127.0.0.1:')));
      assertNoSecret('serve', stopped.stdout, stopped.stderr);
      assertNoSecret('mail test', result.stdout, result.stderr);
    } finally {
      await receiver.close();
    }
  });

  it('portcullis users reset-password: the running server sends the reset mail; its token sets the password; no token in the log', async () => {
    const receiver = await startSmtpReceiver({ certificate });
    try {
      const dataDir = makeDataDir();
      const env = smtpEnv(dataDir, receiver.port);
      const added = await runCli(['users', 'add', 'rosa', '--email', 'rosa@example.test', '--password-stdin'], {
        env,
        input: 'rosa-first-password-1\n',
      });
      assert.equal(added.code, 0, added.stderr);
      const server = await serve(env);
      const queued = await runCli(['users', 'reset-password', 'rosa'], { env });
      assert.equal(queued.code, 0, queued.stderr);
      assert.match(queued.stdout, /^Queued a password reset mail for rosa to rosa@example.test/);
      const [mail] = await receiver.arrived(1);
      assert.equal(mail!.subject, 'Acme ID: reset your password');
      const token = /https:\/\/id\.portcullis\.test\/reset-password\?token=([A-Za-z0-9_-]+)/.exec(mail!.text ?? '')?.[1];
      assert.ok(token, mail!.text);
      const reset = await server.fetch('/password/reset', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token, new_password: 'rosa-second-password-2' }),
      });
      assert.equal(reset.status, 204, await reset.text());
      const login = await server.fetch('/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username: 'rosa', password: 'rosa-second-password-2' }).toString(),
      });
      assert.equal(login.status, 200);
      const { stdout, stderr } = server.output();
      for (const output of [stdout, stderr, queued.stdout, queued.stderr]) {
        assert.ok(!output.includes(token), 'the token is not in the output');
        assert.ok(!output.includes('rosa-second-password-2'), 'the password is not in the output');
      }
    } finally {
      await receiver.close();
    }
  });

  it('a mail server that is down delays the message; once it is up, the message arrives exactly once', async () => {
    const probe = await startSmtpReceiver({ certificate });
    const port = probe.port;
    await probe.close(); // nothing listens there now
    const dataDir = makeDataDir();
    const env = smtpEnv(dataDir, port);
    const server = await serve(env);
    const queued = await runCli(['mail', 'test', 'carol@example.test', '--no-relay', '--timeout', '2'], { env });
    assert.equal(queued.code, 2);
    assert.match(queued.stderr, /not sent within 2 s \(\d+ attempts, last error: SMTP: .*ECONNREFUSED/);
    const receiver = await startSmtpReceiver({ certificate, port });
    try {
      const [mail] = await receiver.arrived(1);
      assert.deepEqual(addressesOf(mail!.to), ['carol@example.test']);
      // Sent means marked sent: once the outbox says so, nothing more can come.
      for (let i = 0; i < 100; i += 1) {
        const status = JSON.parse((await runCli(['mail', 'status', '--json'], { env })).stdout) as { sent: number };
        if (status.sent === 1) break;
      }
      const status = JSON.parse((await runCli(['mail', 'status', '--json'], { env })).stdout) as { sent: number; queued: number };
      assert.deepEqual([status.sent, status.queued], [1, 0]);
      assert.equal(receiver.received.length, 1, 'exactly once');
      const stopped = await server.stop();
      assertNoSecret('serve', stopped.stdout, stopped.stderr, queued.stderr);
    } finally {
      await receiver.close();
    }
  });

  it('a sender SIGKILLed mid-send: another process sends the message once the lease ends; nothing lost', async () => {
    const hanging = await startSmtpReceiver({ certificate, hold: true });
    const dataDir = makeDataDir();
    const dataStarted = hanging.dataStarted();
    const first = await serve(smtpEnv(dataDir, hanging.port, { MAIL_LEASE_SECONDS: '10' }));
    const queued = await runCli(['mail', 'test', 'dave@example.test', '--no-relay', '--timeout', '1'], {
      env: smtpEnv(dataDir, hanging.port),
    });
    assert.equal(queued.code, 2, 'not sent yet: the server hangs in DATA');
    await dataStarted;
    await first.stop('SIGKILL');
    await hanging.close();
    const receiver = await startSmtpReceiver({ certificate });
    try {
      await serve(smtpEnv(dataDir, receiver.port, { MAIL_LEASE_SECONDS: '10' }));
      const [mail] = await receiver.arrived(1, 60_000);
      assert.deepEqual(addressesOf(mail!.to), ['dave@example.test']);
      const status = JSON.parse((await runCli(['mail', 'status', '--json'], { env: smtpEnv(dataDir, receiver.port) })).stdout) as {
        sent: number;
      };
      assert.ok(status.sent <= 1);
      assert.equal(receiver.received.length, 1);
    } finally {
      await receiver.close();
    }
  });
});

describe('two instances on PostgreSQL sharing one outbox', async () => {
  const skip = await postgresSkipReason();
  it('deliver each message exactly once', { skip: skip ?? false }, async () => {
    const database = await createTestDatabase();
    const receiver = await startSmtpReceiver({ certificate });
    try {
      const env = (dataDir: string) => smtpEnv(dataDir, receiver.port, { DATABASE_URL: database.url });
      await Promise.all([serve(env(makeDataDir())), serve(env(makeDataDir()))]);
      const dialect = openPostgres(database.url, { max: 2, connectTimeoutMs: 5000, statementTimeoutMs: 10_000, idleTimeoutMs: 10_000 });
      const ids: string[] = [];
      try {
        await migrateToLatest(dialect);
        const store = new SqlOutboxStore(dialect);
        for (let i = 0; i < 40; i += 1) {
          const id = randomUUID();
          ids.push(id);
          await store.enqueue({
            id,
            kind: 'test',
            to: `user${i}@example.test`,
            subject: `n${i}`,
            text: 't',
            html: '<p>h</p>',
            createdAt: Date.now(),
          });
        }
        await receiver.arrived(40);
        // A message is marked sent just after the SMTP server accepted it.
        await eventually(async () => (await store.stats(Date.now())).sent === 40, 'every message marked sent', 200, 50);
        assert.equal((await store.stats(Date.now())).queued, 0);
      } finally {
        await dialect.close();
      }
      const messageIds = receiver.received.map((mail) => mail.messageId);
      assert.equal(new Set(messageIds).size, 40, 'each message once');
      assert.deepEqual(messageIds.sort(), ids.map((id) => `<${id}@portcullis>`).sort());
    } finally {
      await Promise.all(running.splice(0).map((server) => server.stop()));
      await receiver.close();
      await database.drop();
    }
  });
});

describe('mail through a webhook', () => {
  it('POSTs a signed JSON event that the Standard Webhooks library verifies', async () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const events: unknown[] = [];
    let notify: () => void = () => undefined;
    const receiver = createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        try {
          events.push(new Webhook(secret).verify(body, request.headers as Record<string, string>));
          response.writeHead(204).end();
        } catch {
          response.writeHead(400).end();
        }
        notify();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/mail`;
      const arrived = new Promise<void>((resolve) => (notify = resolve));
      // The CLI's own relay sends it: no server runs.
      const result = await runCli(['mail', 'test', 'erin@example.test'], {
        env: cliEnv(makeDataDir(), { MAIL_WEBHOOK_URL: url, MAIL_WEBHOOK_SECRET: secret, MAIL_FROM: FROM }),
      });
      assert.equal(result.code, 0, result.stderr);
      // It exited after the receiver answered 2xx: the event is here already (bounded all the same).
      await Promise.race([arrived, new Promise((_, reject) => setTimeout(() => reject(new Error('no webhook event')), 10_000).unref())]);
      const [event] = events as Array<{ type: string; data: Record<string, string> }>;
      assert.equal(event?.type, 'mail.send');
      assert.equal(event?.data.to, 'erin@example.test');
      assert.equal(event?.data.from, FROM);
      assert.equal(event?.data.kind, 'test');
      assert.match(event?.data.subject ?? '', /test message/);
      assert.ok(!result.stderr.includes(secret) && !result.stdout.includes(secret));
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });
});
