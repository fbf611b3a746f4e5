/**
 * Where the relay hands a message: SMTP, a webhook, or the log (src/mail/). A transport resolves
 * once the other side accepted the message, and throws otherwise; it never logs a secret.
 */
export interface OutgoingMail {
  readonly id: string;
  readonly kind: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

export interface MailTransport {
  /** Says where mail goes, for the start-up line (never a password). */
  readonly description: string;
  /** Resolves when the server accepted the message; throws MailTransportError (or anything: taken as temporary) when not. */
  send(mail: OutgoingMail): Promise<void>;
  close(): Promise<void>;
}

/** A refusal. `permanent`: trying again cannot help (a 5xx SMTP reply, a 4xx webhook answer), so the message is given up on. */
export class MailTransportError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MailTransportError';
  }
}

/** What the relay and the mail service log with (a pino logger fits). Never given a message body. */
export interface MailLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}
