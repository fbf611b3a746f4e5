/**
 * What the rest of core uses to send mail: makes a message of a kind (mail-templates.ts) for an
 * address, and queues it in the outbox, where the relay picks it up. `compose` gives the message
 * without queueing it, for a store method that writes it in the transaction of the token it
 * carries; `queued()` then tells the relay to look now. `available` is false where no transport
 * is configured in production: a route that needs mail answers 503 (ADR 0022).
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { MailUnavailableError } from '../errors.js';
import type { OutboxStore } from '../ports.js';
import type { OutboxMessage, OutboxStats } from './outbox-message.js';
import type { MailKindName, MailTemplates, MailValues } from './mail-templates.js';

export { MailUnavailableError } from '../errors.js';

export interface MailBranding {
  readonly productName: string;
  /** Without a trailing slash. */
  readonly publicUrl: string;
}

export interface MailerOptions {
  readonly store: OutboxStore;
  readonly templates: MailTemplates;
  readonly branding: MailBranding;
  readonly clock: Clock;
  readonly available: boolean;
  /** Tells this process's relay that something was queued (default: nothing; the relay's poll finds it). */
  readonly wake?: () => void;
}

export class Mailer {
  constructor(private readonly options: MailerOptions) {}

  get available(): boolean {
    return this.options.available;
  }

  /** The message, rendered and ready to be written (by enqueue, or in another store's transaction). */
  compose<K extends MailKindName>(kind: K, to: string, values: MailValues<K>): OutboxMessage {
    if (!this.options.available) throw new MailUnavailableError();
    const { productName, publicUrl } = this.options.branding;
    const rendered = this.options.templates.render(kind, { ...values, product_name: productName, public_url: publicUrl });
    return { id: randomUUID(), kind, to, ...rendered, createdAt: this.options.clock.now() };
  }

  /** Queues a message of `kind` to `to`; resolves once it is in the outbox (not yet sent). */
  async send<K extends MailKindName>(kind: K, to: string, values: MailValues<K>): Promise<OutboxMessage> {
    const message = this.compose(kind, to, values);
    await this.options.store.enqueue(message);
    this.queued();
    return message;
  }

  /** After a message was written in another store's transaction: the relay looks now. */
  queued(): void {
    this.options.wake?.();
  }

  /** The outbox's counts now (also where no transport is configured: what waits there is worth seeing). */
  outboxStats(): Promise<OutboxStats> {
    return this.options.store.stats(this.options.clock.now());
  }
}
