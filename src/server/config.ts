/**
 * The whole configuration, assembled by the composition root: every layer's
 * table of settings (server, storage, core, http, mail, in that order: the first
 * ones' values are what later defaults depend on) read from the environment
 * in one parse, with every layer's rules across settings; every mistake is
 * reported in a single ConfigError, and the result is frozen. Each layer gets
 * the part it reads (core's Config, StorageConfig, HttpConfig, ServerConfig, MailConfig);
 * PortcullisConfig is all of them. The look-alike warning knows every name
 * from SETTINGS, and docs/configuration.md's reference is generated from it
 * (`npm run docs:config`). Only the server's entry points read process.env (ADR 0020).
 */
import { ConfigError, coreConfig, type Config, type LoadConfigOptions } from '../core/config.js';
import { CORE_RULES, CORE_SETTINGS } from '../core/settings.js';
import { readSettings, type Env, type SettingRule, type ValuesOf } from '../core/setting-table.js';
import { HTTP_RULES, HTTP_SETTINGS, httpConfig, type HttpConfig } from '../http/settings.js';
import { MAIL_RULES, MAIL_SETTINGS, mailConfig, type MailLayerConfig } from '../mail/settings.js';
import { STORAGE_SETTINGS, storageConfig, type StorageConfig } from '../storage/settings.js';
import { SERVER_SETTINGS, serverConfig, type ServerConfig } from './settings.js';

export { ConfigError, OWASP_ARGON2, type Config, type LoadConfigOptions } from '../core/config.js';
export type { Env } from '../core/setting-table.js';

/** Every setting Portcullis reads from the environment, each layer's table in turn. */
export const SETTINGS = { ...SERVER_SETTINGS, ...STORAGE_SETTINGS, ...CORE_SETTINGS, ...HTTP_SETTINGS, ...MAIL_SETTINGS };

export type SettingName = keyof typeof SETTINGS;
export type SettingValues = ValuesOf<typeof SETTINGS>;

/** The names of every setting: the variables Portcullis reads. */
export const SETTING_NAMES: ReadonlySet<string> = new Set(Object.keys(SETTINGS));

/** Every layer's rules across its settings, and those across layers. */
export const CROSS_SETTING_RULES: ReadonlyArray<SettingRule<SettingValues>> = [
  ...CORE_RULES,
  ...HTTP_RULES,
  ...MAIL_RULES,
  // Nobody could ever verify an address, so nobody could log in.
  ({ NODE_ENV, REQUIRE_VERIFIED_EMAIL, SMTP_URL, MAIL_WEBHOOK_URL }) =>
    NODE_ENV === 'production' && REQUIRE_VERIFIED_EMAIL && SMTP_URL === undefined && MAIL_WEBHOOK_URL === undefined
      ? 'REQUIRE_VERIFIED_EMAIL=on needs a mail channel in production (SMTP_URL or MAIL_WEBHOOK_URL): without one no address could ever be verified'
      : undefined,
  ({ PORT, METRICS_PORT }) =>
    METRICS_PORT !== undefined && METRICS_PORT !== 0 && METRICS_PORT === PORT ? 'METRICS_PORT must differ from PORT' : undefined,
];

/** The whole configuration: what each layer reads, side by side. */
export type PortcullisConfig = Config & StorageConfig & HttpConfig & ServerConfig & MailLayerConfig;

/** Reads every setting of every layer from env (each mistake pushed to problems; the setting takes its default). */
export function readAllSettings(env: Env, problems: string[]): SettingValues {
  return readSettings(SETTINGS, env, problems, CROSS_SETTING_RULES);
}

export function loadConfig(env: Env, options: LoadConfigOptions = {}): PortcullisConfig {
  const problems: string[] = [];
  const settings = readAllSettings(env, problems);
  const server = serverConfig(settings);
  const storage = storageConfig(settings, problems);
  const core = coreConfig(settings, { production: server.production, dataDir: storage.dataDir }, options, problems);
  const http = httpConfig(settings, server.production);
  const mail = mailConfig(settings, core);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ ...core, ...storage, ...http, ...server, mail });
}
