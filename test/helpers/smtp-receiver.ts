/**
 * A real SMTP server in the test process (smtp-server), with STARTTLS on a self-signed certificate
 * made for 127.0.0.1 (children trust it through NODE_EXTRA_CA_CERTS) and a login; what arrives is
 * parsed with mailparser. Tests wait on arrivals, never on time.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export const SMTP_USER = 'mailer';
export const SMTP_PASSWORD = 'smtp-pw-never-logged-5b1e';

export interface Certificate {
  readonly certPath: string;
  readonly key: Buffer;
  readonly cert: Buffer;
}

export function selfSignedCertificate(): Certificate {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-smtp-cert-'));
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ],
    { stdio: 'ignore' },
  );
  return { certPath, key: readFileSync(keyPath), cert: readFileSync(certPath) };
}

export interface SmtpReceiver {
  readonly port: number;
  readonly received: ParsedMail[];
  /** Resolves once `count` messages arrived in all; rejects after `timeoutMs`. */
  arrived(count: number, timeoutMs?: number): Promise<ParsedMail[]>;
  /** Resolves when a message's data starts arriving (before it is accepted). */
  dataStarted(): Promise<void>;
  close(): Promise<void>;
}

export interface ReceiverOptions {
  readonly certificate: Certificate;
  readonly port?: number;
  /** Hold every message's data: never accept it (a server that hangs mid-send). */
  readonly hold?: boolean;
  /**
   * Offer no STARTTLS (and take the login in plain text): for a server in this process, which cannot
   * be told to trust the self-signed certificate; it sends with `SMTP_URL=smtp://...?tls=optional`.
   */
  readonly plain?: boolean;
  /** The SMTP code (550: for good, 450: for now) to refuse a recipient with; undefined accepts it. */
  readonly refuse?: (address: string) => number | undefined;
}

export async function startSmtpReceiver(options: ReceiverOptions): Promise<SmtpReceiver> {
  const received: ParsedMail[] = [];
  let waiters: Array<() => void> = [];
  let dataWaiters: Array<() => void> = [];
  const notify = () => {
    for (const waiter of waiters.splice(0)) waiter();
  };
  const server = new SMTPServer({
    key: options.certificate.key,
    cert: options.certificate.cert,
    logger: false,
    ...(options.plain ? { hideSTARTTLS: true, allowInsecureAuth: true } : {}),
    onAuth(auth, _session, callback) {
      if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) callback(null, { user: auth.username });
      else callback(new Error('Invalid username or password'));
    },
    onRcptTo(address, _session, callback) {
      const code = options.refuse?.(address.address);
      if (code === undefined) return callback();
      callback(
        Object.assign(new Error(`${code === 550 ? 'No such mailbox' : 'Try again later'}: ${address.address}`), { responseCode: code }),
      );
    },
    onData(stream, _session, callback) {
      for (const waiter of dataWaiters.splice(0)) waiter();
      if (options.hold) {
        stream.resume();
        return; // never answered
      }
      simpleParser(stream).then(
        (mail) => {
          received.push(mail);
          callback();
          notify();
        },
        (error: Error) => callback(error),
      );
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    received,
    async arrived(count, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`${received.length} of ${count} messages arrived within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return received;
    },
    dataStarted: () => new Promise<void>((resolve) => dataWaiters.push(resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        waiters = [];
        dataWaiters = [];
        server.close(() => resolve());
        // Connections held open (hold: true) would keep close waiting.
        for (const connection of (server as unknown as { connections: Set<{ close(): void }> }).connections ?? []) connection.close();
      }),
  };
}

/** The address field of a parsed message as plain addresses. */
export function addressesOf(field: ParsedMail['to'] | ParsedMail['from']): string[] {
  const list = field === undefined ? [] : Array.isArray(field) ? field : [field];
  return list.flatMap((entry) => entry.value.map((address) => address.address ?? ''));
}
