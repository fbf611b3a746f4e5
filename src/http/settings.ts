/**
 * The HTTP layer's settings (proxies, request limits, CORS, cookies, /docs,
 * /metrics, the hosted pages and their branding), declared as the table of core's (name, what it accepts, default,
 * doc), and the HttpConfig built from them. The server joins every layer's
 * table into one parse of the environment (server/config.ts).
 */
import { existsSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { extname } from 'node:path';
import { integer, list, onOff, optionalInteger, optionalText, text, type Setting } from '../core/setting-types.js';
import type { SettingRule, ValuesOf } from '../core/setting-table.js';

/** What `bearerToken` accepts (RFC 6750 token68), and long enough not to be guessed. */
const METRICS_TOKEN_PATTERN = /^[A-Za-z0-9\-._~+/]{16,}=*$/;

/** proxy-addr's named ranges, which Fastify's trustProxy also takes. */
const NAMED_PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** Addresses and CIDR ranges only, checked here with every other mistake rather than by Fastify at listen time. */
function checkTrustedProxy(entry: string, name: string): string | undefined {
  if (NAMED_PROXY_RANGES.has(entry)) return undefined;
  const [address = '', prefix, extra] = entry.split('/');
  const family = isIP(address);
  const maxPrefix = family === 6 ? 128 : 32;
  const validPrefix = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= maxPrefix);
  if (family === 0 || extra !== undefined || !validPrefix) {
    return `${name}: ${JSON.stringify(entry)} is not an IP address or CIDR range (e.g. 10.0.0.5, 10.0.0.0/8, loopback)`;
  }
  if (prefix !== undefined && Number(prefix) === 0) {
    return `${name}: ${entry} trusts every address, so any client could name its own IP in X-Forwarded-For; list your proxies' addresses`;
  }
  return undefined;
}

/** A CSS hex colour: #rgb or #rrggbb; nothing else reaches the stylesheet. */
export const BRAND_COLOR_PATTERN = /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;

/** The logo's file types, and the Content-Type each is served with. */
export const LOGO_TYPES: Readonly<Record<string, string>> = Object.freeze({ '.png': 'image/png', '.svg': 'image/svg+xml' });

/** Largest logo served: a logo is a few kilobytes. */
export const MAX_LOGO_BYTES = 256 * 1024;

function checkLogoFile(value: string, name: string): string | undefined {
  if (LOGO_TYPES[extname(value).toLowerCase()] === undefined) return `${name}: ${value} is not a .png or .svg file`;
  if (!existsSync(value) || !statSync(value).isFile()) return `${name}: ${value} does not exist or is not a file`;
  if (statSync(value).size > MAX_LOGO_BYTES) return `${name}: ${value} is larger than ${MAX_LOGO_BYTES / 1024} KiB`;
  return undefined;
}

export const HTTP_SETTINGS = {
  TRUSTED_PROXIES: list({
    accepts: 'addresses, CIDRs, `loopback`, `linklocal`, `uniquelocal`',
    doc: "addresses or CIDRs whose `X-Forwarded-For` is believed (`0.0.0.0/0` is refused: list your proxies' addresses)",
    check: checkTrustedProxy,
  }),
  MAX_HEADER_BYTES: integer({ default: 16_384, min: 1024, max: 1_048_576, doc: 'larger header blocks get 431' }),
  HEADERS_TIMEOUT_SECONDS: integer({
    default: 10,
    min: 1,
    max: 600,
    doc: 'slow-client bound: the longest a client may take to send the headers',
  }),
  REQUEST_TIMEOUT_SECONDS: integer({
    default: 30,
    min: 1,
    max: 600,
    doc: 'slow-client bound: the longest a client may take to send the whole request; not shorter than `HEADERS_TIMEOUT_SECONDS`',
  }),
  KEEP_ALIVE_TIMEOUT_SECONDS: integer({
    default: 5,
    min: 1,
    max: 600,
    doc: 'slow-client bound: an idle kept-alive connection is closed after this',
  }),
  CORS_ORIGINS: list({
    defaultDoc: 'empty (CORS off)',
    accepts: 'comma- or space-separated origins',
    doc: 'browser origins allowed to call the API',
  }),
  DOCS: onOff({
    default: true,
    doc: '`off`: no `/docs` and no `/openapi.json`. See [Interactive API docs](http-api.md#interactive-api-docs)',
  }),
  SECURE_COOKIES: onOff({
    default: ({ production }) => production,
    defaultDoc: '`on` in production, else `off`',
    doc: "mark the device cookie and the hosted pages' cookies `Secure` (HTTPS only)",
  }),
  HOSTED_PAGES: onOff({
    default: true,
    doc: '`off`: no hosted pages (`/sign-in`, `/account`, ...). See [Hosted pages](http-api.md#hosted-pages)',
  }),
  BRAND_COLOR: text({
    default: '#1d4ed8',
    accepts: 'a CSS hex colour, `#rgb` or `#rrggbb`',
    doc: "the hosted pages' accent colour (buttons, links); pick one white text is readable on",
    check: (value, name) =>
      BRAND_COLOR_PATTERN.test(value) ? undefined : `${name} must be a CSS hex colour such as #1d4ed8 (got ${JSON.stringify(value)})`,
  }),
  BRAND_LOGO_FILE: optionalText({
    accepts: 'path of a `.png` or `.svg` file, at most 256 KiB',
    doc: 'a logo the hosted pages show above their title, served by Portcullis at `/pages/logo`',
    check: checkLogoFile,
  }),
  METRICS: onOff({ default: true, doc: '`off`: no `/metrics`. See [Metrics](DEPLOYMENT.md#metrics)' }),
  METRICS_TOKEN: optionalText({
    secret: true,
    accepts: '16 or more of `A-Z a-z 0-9 - . _ ~ + /`',
    doc: '`/metrics` then needs `Authorization: Bearer <token>` (`openssl rand -hex 32`); never logged',
    // The value is never echoed: it is a secret.
    check: (value, name) =>
      METRICS_TOKEN_PATTERN.test(value)
        ? undefined
        : `${name} must be at least 16 characters of A-Z a-z 0-9 - . _ ~ + / (generate one with: openssl rand -hex 32)`,
  }),
  METRICS_PORT: optionalInteger({
    min: 0,
    max: 65_535,
    doc: 'serve `/metrics` on this port, on `HOST`, and not on `PORT` (`0`: any free port); with workers, the primary serves the sum of all workers there',
  }),
} as const satisfies Record<string, Setting<unknown>>;

export type HttpSettingValues = ValuesOf<typeof HTTP_SETTINGS>;

/** Rules across the HTTP settings: each returns the problem, or undefined. */
export const HTTP_RULES: ReadonlyArray<SettingRule<HttpSettingValues>> = [
  ({ HEADERS_TIMEOUT_SECONDS, REQUEST_TIMEOUT_SECONDS }) =>
    REQUEST_TIMEOUT_SECONDS < HEADERS_TIMEOUT_SECONDS
      ? 'REQUEST_TIMEOUT_SECONDS must not be shorter than HEADERS_TIMEOUT_SECONDS'
      : undefined,
];

export interface MetricsSettings {
  /** METRICS=on (the default) serves /metrics. */
  readonly enabled: boolean;
  /** When set, /metrics needs `Authorization: Bearer <token>`. Never log. */
  readonly token: string | undefined;
  /** When set, /metrics is served on this port (0: any free one), on HOST, and not on PORT (the server starts it). */
  readonly port: number | undefined;
}

/** The hosted pages (src/http/pages) and their branding; the product name is core's PRODUCT_NAME. */
export interface PagesSettings {
  /** HOSTED_PAGES=on (the default) serves them. */
  readonly enabled: boolean;
  /** A validated CSS hex colour. */
  readonly brandColor: string;
  /** A .png or .svg file served at /pages/logo; undefined: no logo. */
  readonly logoFile: string | undefined;
}

export interface HttpConfig {
  /** NODE_ENV=production: HSTS is sent. */
  readonly production: boolean;
  /** X-Forwarded-For is believed only from these proxies: addresses or CIDRs; empty = none. */
  readonly trustedProxies: readonly string[];
  /** Browser origins allowed by CORS; empty = CORS off. */
  readonly corsOrigins: readonly string[];
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxHeaderBytes: number;
  /** Mark the device cookie Secure (HTTPS only); default: in production. */
  readonly secureCookies: boolean;
  /** Serve the interactive API docs (/docs) and the OpenAPI document (/openapi.json). */
  readonly docs: boolean;
  /** GET /metrics in the Prometheus text format. */
  readonly metrics: MetricsSettings;
  /** The hosted pages; absent (a config built by hand): off. */
  readonly pages?: PagesSettings;
}

/** The HTTP layer's config from its settings' values (and NODE_ENV's verdict). */
export function httpConfig(settings: HttpSettingValues, production: boolean): HttpConfig {
  return {
    production,
    trustedProxies: Object.freeze([...settings.TRUSTED_PROXIES]),
    corsOrigins: Object.freeze([...settings.CORS_ORIGINS]),
    headersTimeoutMs: settings.HEADERS_TIMEOUT_SECONDS * 1000,
    requestTimeoutMs: settings.REQUEST_TIMEOUT_SECONDS * 1000,
    keepAliveTimeoutMs: settings.KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
    maxHeaderBytes: settings.MAX_HEADER_BYTES,
    secureCookies: settings.SECURE_COOKIES,
    docs: settings.DOCS,
    metrics: Object.freeze({ enabled: settings.METRICS, token: settings.METRICS_TOKEN, port: settings.METRICS_PORT }),
    pages: Object.freeze({ enabled: settings.HOSTED_PAGES, brandColor: settings.BRAND_COLOR, logoFile: settings.BRAND_LOGO_FILE }),
  };
}
