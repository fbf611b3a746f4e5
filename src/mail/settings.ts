/**
 * The mail layer's settings (ADR 0022): its table, its rules across settings, and the typed
 * MailConfig built from them; the server joins the table with the other layers' (server/config.ts).
 * The SMTP URL and the webhook secret are secrets: never echoed in a problem, never logged.
 */
import { checkHttpUrl, integer, optionalText, type Setting } from '../core/setting-types.js';
import type { SettingRule, ValuesOf } from '../core/setting-table.js';
import type { RelaySettings } from '../core/outbox/outbox-relay.js';

/** `smtp://` (STARTTLS required) or `smtps://` (implicit TLS); `?tls=optional` allows plain text (logged as a warning). */
export const SMTP_TLS_OPTIONAL = 'tls=optional';

/** A bare address or `Name <address>`: what nodemailer's From accepts, checked only for shape. */
const MAIL_ADDRESS = /^[^\s@<>]+@[^\s@<>]+\.?[^\s@<>]*$/;
const NAMED_ADDRESS = /^[^<>]*<([^\s@<>]+@[^\s@<>]+)>$/;

export function isMailAddress(value: string): boolean {
  const trimmed = value.trim();
  return MAIL_ADDRESS.test(trimmed) || NAMED_ADDRESS.test(trimmed);
}

function checkSmtpUrl(value: string, name: string): string | undefined {
  // Never echo the value: it may hold a password.
  if (!URL.canParse(value)) return `${name} is not a URL (percent-encode special characters in the user or password)`;
  const url = new URL(value);
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') return `${name} must start with smtp:// or smtps://`;
  if (url.hostname === '') return `${name} needs a host, e.g. smtp://user:password@mail.example.com:587`;
  const params = [...url.searchParams.keys()];
  if (params.some((key) => key !== 'tls') || (url.searchParams.has('tls') && url.search !== `?${SMTP_TLS_OPTIONAL}`)) {
    return `${name}: the only query parameter is ?${SMTP_TLS_OPTIONAL} (allow a server without STARTTLS)`;
  }
  if (url.protocol === 'smtps:' && url.searchParams.has('tls'))
    return `${name}: smtps:// is always TLS; ?${SMTP_TLS_OPTIONAL} is for smtp://`;
  return undefined;
}

/** Standard Webhooks secrets: base64 of 24 to 64 random bytes, optionally prefixed `whsec_`. */
function checkWebhookSecret(value: string, name: string): string | undefined {
  const base64 = value.startsWith('whsec_') ? value.slice('whsec_'.length) : value;
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(base64) ? Buffer.from(base64, 'base64').length : 0;
  return bytes >= 24 && bytes <= 64
    ? undefined
    : `${name} must be base64 of 24 to 64 random bytes, optionally prefixed whsec_ (generate one with: echo "whsec_$(openssl rand -base64 32)")`;
}

export const MAIL_SETTINGS = {
  SMTP_URL: optionalText({
    secret: true,
    accepts: 'URL',
    doc:
      'send mail through this server: `smtp://USER:PASSWORD@HOST:587` (STARTTLS required), `smtps://...:465` (TLS from the start); ' +
      `\`?${SMTP_TLS_OPTIONAL}\` allows a server without STARTTLS (logged as a warning). Never logged. See [mail.md](mail.md)`,
    check: checkSmtpUrl,
  }),
  MAIL_FROM: optionalText({
    accepts: 'address, or `Name <address>`',
    doc: 'the From of every message; required with `SMTP_URL`',
    check: (value, name) =>
      isMailAddress(value) ? undefined : `${name} must be an e-mail address or Name <address> (got ${JSON.stringify(value)})`,
  }),
  MAIL_WEBHOOK_URL: optionalText({
    accepts: 'URL',
    doc: 'instead of SMTP: POST each message to this URL as a signed JSON event (Standard Webhooks; see [mail.md](mail.md#webhook))',
    check: checkHttpUrl,
  }),
  MAIL_WEBHOOK_SECRET: optionalText({
    secret: true,
    accepts: '`whsec_` + base64 of 24–64 bytes',
    doc: 'the key the webhook events are signed with; required with `MAIL_WEBHOOK_URL`. Never logged',
    check: checkWebhookSecret,
  }),
  MAIL_TEMPLATES_DIR: optionalText({
    accepts: 'path',
    doc: 'a folder of templates that replace the built-in ones: `KIND.subject.txt`, `KIND.txt`, `KIND.html` (see [mail.md](mail.md#templates))',
  }),
  MAIL_LEASE_SECONDS: integer({
    default: 60,
    min: 10,
    max: 3600,
    doc: 'how long a sender holds a message it claimed; a message whose sender died is sent by another after this',
  }),
  MAIL_POLL_SECONDS: integer({ default: 5, min: 1, max: 3600, doc: 'how often each process looks for mail to send' }),
  MAIL_RETRY_BASE_SECONDS: integer({
    default: 5,
    min: 1,
    max: 3600,
    doc: 'the wait after a first failed attempt; doubled after each',
  }),
  MAIL_RETRY_MAX_SECONDS: integer({ default: 900, min: 1, max: 86_400, doc: 'the longest wait between two attempts' }),
  MAIL_MAX_ATTEMPTS: integer({
    default: 30,
    min: 1,
    max: 10_000,
    doc: 'attempts before a message is given up on (the defaults retry for about 6 hours)',
  }),
  MAIL_OUTBOX_RETENTION_DAYS: integer({
    default: 7,
    min: 1,
    max: 36_500,
    doc:
      'how long a sent or given-up message stays in the outbox (for `mail status`, the metrics and `GET /admin/mail/outbox`) ' +
      'before the relays delete it; a queued one is never deleted',
  }),
} as const satisfies Record<string, Setting<unknown>>;

type MailSettingValues = ValuesOf<typeof MAIL_SETTINGS>;

export const MAIL_RULES: ReadonlyArray<SettingRule<MailSettingValues>> = [
  ({ SMTP_URL, MAIL_WEBHOOK_URL }) =>
    SMTP_URL !== undefined && MAIL_WEBHOOK_URL !== undefined ? 'SMTP_URL and MAIL_WEBHOOK_URL are both set: set one' : undefined,
  ({ SMTP_URL, MAIL_FROM }) =>
    SMTP_URL !== undefined && MAIL_FROM === undefined ? 'SMTP_URL needs MAIL_FROM (the From address)' : undefined,
  ({ MAIL_WEBHOOK_URL, MAIL_WEBHOOK_SECRET }) =>
    MAIL_WEBHOOK_URL !== undefined && MAIL_WEBHOOK_SECRET === undefined
      ? 'MAIL_WEBHOOK_URL needs MAIL_WEBHOOK_SECRET (the key its events are signed with)'
      : undefined,
  ({ MAIL_RETRY_BASE_SECONDS, MAIL_RETRY_MAX_SECONDS }) =>
    MAIL_RETRY_MAX_SECONDS < MAIL_RETRY_BASE_SECONDS
      ? 'MAIL_RETRY_MAX_SECONDS must not be smaller than MAIL_RETRY_BASE_SECONDS'
      : undefined,
];

/** Each relay deletes old messages at most this often, at most PRUNE_BATCH_SIZE at a time (again at the next poll after a whole batch). */
const PRUNE_EVERY_MS = 10 * 60_000;
const PRUNE_BATCH_SIZE = 500;

export type MailTransportConfig =
  | { readonly kind: 'smtp'; readonly url: string; readonly from: string }
  | { readonly kind: 'webhook'; readonly url: string; readonly secret: string; readonly from: string | undefined }
  /** Neither set: the log in development, no mail in production. */
  | { readonly kind: 'none' };

export interface MailConfig {
  readonly transport: MailTransportConfig;
  readonly productName: string;
  /** The base of links in messages, without a trailing slash. */
  readonly publicUrl: string;
  readonly templatesDir: string | undefined;
  readonly relay: RelaySettings;
}

/** What the server hands the mail layer: its config, beside the other layers' (server/config.ts). */
export interface MailLayerConfig {
  readonly mail: MailConfig;
}

/** What the messages are branded with: core's (PRODUCT_NAME, PUBLIC_URL). */
export interface MailBranding {
  readonly productName: string;
  readonly publicUrl: string;
}

export function mailConfig(values: MailSettingValues, branding: MailBranding): MailConfig {
  const transport: MailTransportConfig =
    values.SMTP_URL !== undefined
      ? { kind: 'smtp', url: values.SMTP_URL, from: values.MAIL_FROM ?? '' }
      : values.MAIL_WEBHOOK_URL !== undefined
        ? { kind: 'webhook', url: values.MAIL_WEBHOOK_URL, secret: values.MAIL_WEBHOOK_SECRET ?? '', from: values.MAIL_FROM }
        : { kind: 'none' };
  return Object.freeze({
    transport: Object.freeze(transport),
    productName: branding.productName,
    publicUrl: branding.publicUrl,
    templatesDir: values.MAIL_TEMPLATES_DIR,
    relay: Object.freeze({
      leaseMs: values.MAIL_LEASE_SECONDS * 1000,
      batchSize: 10,
      pollMs: values.MAIL_POLL_SECONDS * 1000,
      retry: Object.freeze({
        baseMs: values.MAIL_RETRY_BASE_SECONDS * 1000,
        maxMs: values.MAIL_RETRY_MAX_SECONDS * 1000,
        maxAttempts: values.MAIL_MAX_ATTEMPTS,
      }),
      pruning: Object.freeze({
        retentionMs: values.MAIL_OUTBOX_RETENTION_DAYS * 86_400_000,
        everyMs: PRUNE_EVERY_MS,
        batchSize: PRUNE_BATCH_SIZE,
      }),
    }),
  });
}
