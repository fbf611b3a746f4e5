/**
 * Mail as a webhook: each message is POSTed to MAIL_WEBHOOK_URL as a JSON event signed by the
 * Standard Webhooks scheme (the `standardwebhooks` package), with the message id as `webhook-id`
 * on every attempt, so a receiver can drop a repeat. A 2xx answer is acceptance; 4xx (but 408,
 * 409, 425, 429) a permanent refusal; anything else is tried again (ADR 0022, docs/mail.md).
 */
import { Webhook } from 'standardwebhooks';
import { MailTransportError, type MailTransport, type OutgoingMail } from '../core/outbox/mail-transport.js';

export interface WebhookSettings {
  readonly url: string;
  readonly secret: string;
  readonly from: string | undefined;
  readonly timeoutMs: number;
}

/** The event's type, and the shape of its `data`. */
export const MAIL_EVENT_TYPE = 'mail.send';

const RETRIED_4XX = new Set([408, 409, 425, 429]);

export class WebhookTransport implements MailTransport {
  readonly description: string;
  private readonly webhook: Webhook;

  constructor(private readonly settings: WebhookSettings) {
    this.webhook = new Webhook(settings.secret);
    const url = new URL(settings.url);
    this.description = `webhook ${url.origin}${url.pathname}`;
  }

  async send(mail: OutgoingMail): Promise<void> {
    const now = new Date();
    const payload = JSON.stringify({
      type: MAIL_EVENT_TYPE,
      timestamp: now.toISOString(),
      data: {
        id: mail.id,
        kind: mail.kind,
        to: mail.to,
        ...(this.settings.from === undefined ? {} : { from: this.settings.from }),
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
      },
    });
    let response: Response;
    try {
      response = await fetch(this.settings.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': mail.id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': this.webhook.sign(mail.id, now, payload),
        },
        body: payload,
        signal: AbortSignal.timeout(this.settings.timeoutMs),
        redirect: 'error',
      });
    } catch (error) {
      throw new MailTransportError(`webhook: ${(error as Error).message}`, false, { cause: error });
    }
    await response.body?.cancel();
    if (response.ok) return;
    const permanent = response.status >= 400 && response.status < 500 && !RETRIED_4XX.has(response.status);
    throw new MailTransportError(`webhook: answered ${response.status}`, permanent);
  }

  async close(): Promise<void> {}
}
