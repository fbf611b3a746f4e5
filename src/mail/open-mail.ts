/**
 * The mail channel of a process, from the configuration: the transport (SMTP, webhook, the log in
 * development, or none in production), the templates, the mailer core uses, and the relay that
 * sends what the outbox holds (ADR 0022). The relay starts with `start()`; `close()` stops it.
 */
import type { Clock } from '../core/clock.js';
import type { MailConfig } from './settings.js';
import type { MailLog, MailTransport } from '../core/outbox/mail-transport.js';
import { MailTemplates } from '../core/outbox/mail-templates.js';
import { Mailer } from '../core/outbox/mailer.js';
import { OutboxRelay } from '../core/outbox/outbox-relay.js';
import type { MailTokenStore, OutboxStore } from '../core/ports.js';
import { LogTransport } from './log-transport.js';
import { SmtpTransport } from './smtp-transport.js';
import { loadTemplateOverrides } from './template-files.js';
import { WebhookTransport } from './webhook-transport.js';

export interface MailChannel {
  readonly mailer: Mailer;
  /** undefined where no transport is configured (production without SMTP_URL or MAIL_WEBHOOK_URL). */
  readonly relay: OutboxRelay | undefined;
  readonly transport: MailTransport | undefined;
  /** Starts the relay (once) and says where mail goes. */
  start(): void;
  close(): Promise<void>;
}

export interface OpenMailOptions {
  readonly config: MailConfig;
  readonly production: boolean;
  readonly store: OutboxStore;
  /** The mailed tokens, pruned with the outbox a day after their use ended (used or expired). */
  readonly tokens?: Pick<MailTokenStore, 'prune'>;
  readonly clock: Clock;
  readonly log: MailLog;
}

/** Each network wait of a send is bounded well inside the lease, so a send ends before another sender may claim it. */
export function sendTimeoutMs(leaseMs: number): number {
  return Math.min(30_000, Math.floor(leaseMs / 4));
}

export function createTransport(config: MailConfig, production: boolean, log: MailLog): MailTransport | undefined {
  const timeoutMs = sendTimeoutMs(config.relay.leaseMs);
  const transport = config.transport;
  if (transport.kind === 'smtp') return new SmtpTransport({ url: transport.url, from: transport.from, timeoutMs });
  if (transport.kind === 'webhook')
    return new WebhookTransport({ url: transport.url, secret: transport.secret, from: transport.from, timeoutMs });
  return production ? undefined : new LogTransport(log);
}

/** A mailed token is kept this long after it was used or expired (for an operator looking into a report), then deleted. */
export const MAIL_TOKEN_RETENTION_MS = 86_400_000;

export function openMail(options: OpenMailOptions): MailChannel {
  const { config, production, store, clock, log } = options;
  const templates = new MailTemplates(config.templatesDir === undefined ? {} : loadTemplateOverrides(config.templatesDir));
  const transport = createTransport(config, production, log);
  const alsoPrune = options.tokens
    ? [{ name: 'mailed tokens', retentionMs: MAIL_TOKEN_RETENTION_MS, prune: options.tokens.prune.bind(options.tokens) }]
    : [];
  const relay = transport ? new OutboxRelay({ ...config.relay, store, transport, clock, log, alsoPrune }) : undefined;
  const mailer = new Mailer({
    store,
    templates,
    branding: { productName: config.productName, publicUrl: config.publicUrl },
    clock,
    available: transport !== undefined,
    wake: () => relay?.wake(),
  });
  let started = false;
  return {
    mailer,
    relay,
    transport,
    start() {
      if (started) return;
      started = true;
      if (!transport || !relay) {
        log.warn({}, 'mail: no SMTP_URL or MAIL_WEBHOOK_URL in production: nothing is sent, and routes that need mail answer 503');
        return;
      }
      if (transport instanceof SmtpTransport && transport.plainAllowed) {
        log.warn({}, 'mail: SMTP_URL has ?tls=optional: messages may travel in plain text when the server offers no STARTTLS');
      }
      log.info({ transport: transport.description }, `mail: sent through ${transport.description}`);
      relay.start();
    },
    async close() {
      await relay?.close();
      await transport?.close();
    },
  };
}
