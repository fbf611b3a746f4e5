/**
 * Mail through an SMTP server with nodemailer, from SMTP_URL: `smtp://` requires STARTTLS (a server
 * that does not offer it is refused) unless the URL ends `?tls=optional`; `smtps://` is TLS from the
 * start. The password goes to nodemailer only: the description and every error name the host alone.
 * A 5xx reply to the message (not to the login) is a permanent refusal (ADR 0022).
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { MailTransportError, type MailTransport, type OutgoingMail } from '../core/outbox/mail-transport.js';
import { SMTP_TLS_OPTIONAL } from './settings.js';

export interface SmtpSettings {
  readonly url: string;
  readonly from: string;
  /** Each of the connection, greeting and socket timeouts. */
  readonly timeoutMs: number;
}

/** nodemailer's options from the URL, and whether plain text is allowed. */
export function smtpOptions(settings: SmtpSettings): { options: SMTPTransport.Options; plainAllowed: boolean; description: string } {
  const url = new URL(settings.url);
  const secure = url.protocol === 'smtps:';
  const plainAllowed = !secure && url.search === `?${SMTP_TLS_OPTIONAL}`;
  const port = url.port === '' ? (secure ? 465 : 587) : Number(url.port);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const options: SMTPTransport.Options = {
    host,
    port,
    secure,
    requireTLS: !secure && !plainAllowed,
    connectionTimeout: settings.timeoutMs,
    greetingTimeout: settings.timeoutMs,
    socketTimeout: settings.timeoutMs,
    ...(url.username === '' ? {} : { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } }),
  };
  const mode = secure ? 'TLS' : plainAllowed ? 'STARTTLS if offered, plain text allowed' : 'STARTTLS required';
  return { options, plainAllowed, description: `SMTP ${url.protocol}//${url.host} (${mode})` };
}

export class SmtpTransport implements MailTransport {
  readonly description: string;
  /** `?tls=optional`: the caller logs it as a warning. */
  readonly plainAllowed: boolean;
  private readonly transporter: Transporter<SMTPTransport.SentMessageInfo>;

  constructor(private readonly settings: SmtpSettings) {
    const { options, plainAllowed, description } = smtpOptions(settings);
    this.description = description;
    this.plainAllowed = plainAllowed;
    this.transporter = nodemailer.createTransport(options);
  }

  async send(mail: OutgoingMail): Promise<void> {
    try {
      await this.transporter.sendMail({
        from: this.settings.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        // The same Message-ID on every attempt, so a receiver can tell a repeat (at-least-once).
        messageId: `<${mail.id}@portcullis>`,
      });
    } catch (error) {
      throw smtpError(error);
    }
  }

  async close(): Promise<void> {
    this.transporter.close();
  }
}

function smtpError(error: unknown): MailTransportError {
  const { code, responseCode, message } = error as { code?: string; responseCode?: number; message?: string };
  // A refused login is a setting to fix, not a refused message: retried, so nothing is lost once it is fixed.
  const permanent = responseCode !== undefined && responseCode >= 500 && responseCode < 600 && code !== 'EAUTH';
  return new MailTransportError(`SMTP: ${message ?? String(error)}`, permanent, { cause: error });
}
