/**
 * The setup the mail tests share (issue 14): a real SMTP server in this process (smtp-receiver.ts,
 * plain with STARTTLS offered), and beside it either a real Portcullis server that mails it as
 * "Acme ID" with its log captured line by line (so a test can say no token or password is in it),
 * or the library (openPortcullis) mailing it. Each test keeps its own settings, clock and waits.
 */
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Clock } from '../../src/core/clock.js';
import { openPortcullis, type PortcullisAuth } from '../../src/index.js';
import type { Env } from '../../src/server/config.js';
import { makeTempDir, startTestServer, TEST_SECRET_KEY, type TestServer } from './server.js';
import {
  selfSignedCertificate,
  SMTP_PASSWORD,
  SMTP_USER,
  startSmtpReceiver,
  type ReceiverOptions,
  type SmtpReceiver,
} from './smtp-receiver.js';

/** The PUBLIC_URL of the mail tests' servers: the links in their mails start with it. */
export const MAIL_PUBLIC_URL = 'https://id.portcullis.test';

/** A receiver that takes plain SMTP (STARTTLS offered with a self-signed certificate). */
export function startPlainSmtpReceiver(options: Omit<ReceiverOptions, 'certificate' | 'plain'> = {}): Promise<SmtpReceiver> {
  return startSmtpReceiver({ ...options, certificate: selfSignedCertificate(), plain: true });
}

/** SMTP_URL for `receiver`, with its credentials. */
export function smtpUrl(receiver: SmtpReceiver): string {
  return `smtp://${SMTP_USER}:${SMTP_PASSWORD}@127.0.0.1:${receiver.port}?tls=optional`;
}

/** The settings of a server that mails `receiver` as Acme ID, its relay polling every second. */
export function mailSettings(receiver: SmtpReceiver): Env {
  return {
    SMTP_URL: smtpUrl(receiver),
    MAIL_FROM: 'Acme ID <no-reply@portcullis.test>',
    PUBLIC_URL: MAIL_PUBLIC_URL,
    PRODUCT_NAME: 'Acme ID',
    MAIL_POLL_SECONDS: '1',
  };
}

export interface MailTestServer {
  readonly receiver: SmtpReceiver;
  readonly server: TestServer;
}

/**
 * A receiver, and a server on `clock` that mails it (mailSettings, then `env`) and logs at debug
 * level into `logLines`, a line each.
 */
export async function startMailTestServer(
  env: Env,
  options: { readonly clock: Clock; readonly logLines: string[] },
): Promise<MailTestServer> {
  const receiver = await startPlainSmtpReceiver();
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      options.logLines.push(
        ...chunk
          .toString()
          .split('\n')
          .filter((line) => line !== ''),
      );
      done();
    },
  });
  const server = await startTestServer(
    { ...mailSettings(receiver), LOG_LEVEL: 'debug', ...env },
    { clock: options.clock, logger: pino({ level: 'debug' }, sink) },
  );
  return { receiver, server };
}

/** Stops what a before() started, whatever of it did start. */
export async function stopMailTestServer(server: TestServer | undefined, receiver: SmtpReceiver | undefined): Promise<void> {
  await server?.stop();
  await receiver?.close();
}

export interface MailingLibrary {
  readonly receiver: SmtpReceiver;
  readonly auth: PortcullisAuth;
}

/** A receiver, and the library on a fresh SQLite file mailing it (plus `settings`). */
export async function openMailingLibrary(settings: Env = {}): Promise<MailingLibrary> {
  const receiver = await startPlainSmtpReceiver();
  const auth = await openPortcullis({
    secretKey: TEST_SECRET_KEY,
    database: { url: `sqlite:${join(makeTempDir(), 'auth.db')}` },
    settings: {
      SMTP_URL: smtpUrl(receiver),
      MAIL_FROM: 'no-reply@portcullis.test',
      PUBLIC_URL: 'https://app.portcullis.test',
      MAIL_POLL_SECONDS: '1',
      ...settings,
    },
  });
  return { receiver, auth };
}

/**
 * Waits until every mail asked for so far has been sent: the deferred work of the requests already
 * answered (reset, verification, sign-in link) is done, then the relay drains (an event, no polling);
 * then nothing may be left queued.
 */
export async function waitForEmptyOutbox(server: TestServer, clock: Clock): Promise<void> {
  const { passwordResets, emailVerifications, signInLinks } = server.portcullis;
  await Promise.all([passwordResets.settled(), emailVerifications.settled(), signInLinks.settled()]);
  await server.mail.relay!.drained();
  if ((await server.storage.outbox.stats(clock.now())).queued !== 0) throw new Error('mail left in the outbox after the relay drained');
}
