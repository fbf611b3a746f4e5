/**
 * Development without SMTP_URL or MAIL_WEBHOOK_URL: each message is written to the log at info,
 * whole (it may hold a link with a token: this transport is never used in production).
 */
import type { MailLog, MailTransport, OutgoingMail } from '../core/outbox/mail-transport.js';

export class LogTransport implements MailTransport {
  readonly description = 'the log (development: no SMTP_URL or MAIL_WEBHOOK_URL)';

  constructor(private readonly log: MailLog) {}

  async send(mail: OutgoingMail): Promise<void> {
    this.log.info(
      { mail: { id: mail.id, kind: mail.kind, to: mail.to, subject: mail.subject, text: mail.text } },
      'mail (written to the log, not sent)',
    );
  }

  async close(): Promise<void> {}
}
