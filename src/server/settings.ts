/**
 * The server's own settings (NODE_ENV, where it listens, workers, logging,
 * shutdown), declared as the table of core's (name, what it
 * accepts, default, doc), and the ServerConfig built from them. NODE_ENV and
 * HOST, PORT and WORKERS come first: other layers' defaults depend on them
 * (DefaultContext). server/config.ts joins every layer's table.
 */
import { choice, integer, optionalText, text, type Setting } from '../core/setting-types.js';
import type { ValuesOf } from '../core/setting-table.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const SERVER_SETTINGS = {
  NODE_ENV: optionalText({
    doc: '`production` requires `SECRET_KEY`, sends HSTS, and makes `REGISTRATION` default to `closed` and `SECURE_COOKIES` to `on`',
  }),

  // Where it listens, and how.
  HOST: text({ default: '127.0.0.1', doc: 'the address to listen on' }),
  PORT: integer({ default: 8000, min: 0, max: 65_535, doc: 'the port to listen on (`0`: any free port)' }),
  WORKERS: integer({
    default: ({ cores }) => cores,
    defaultDoc: 'number of cores',
    min: 1,
    max: 256,
    doc: '`serve`: processes sharing the port (`--workers N` overrides it); `1` is one process, no cluster. See [All cores](DEPLOYMENT.md#all-cores)',
  }),

  // The process.
  LOG_LEVEL: choice({
    values: LOG_LEVELS,
    default: 'info',
    doc: 'at `info`, a JSON line per failed request and a summary of the rest once a minute; at `debug`, a line per request (see [DEPLOYMENT.md](DEPLOYMENT.md#1-production-checklist))',
  }),
  SHUTDOWN_TIMEOUT_SECONDS: integer({ default: 10, min: 1, max: 600, doc: 'how long a graceful shutdown may take' }),
} as const satisfies Record<string, Setting<unknown>>;

export type ServerSettingValues = ValuesOf<typeof SERVER_SETTINGS>;

export interface ServerConfig {
  /** NODE_ENV=production. */
  readonly production: boolean;
  readonly host: string;
  readonly port: number;
  /** `serve`: processes sharing the port (node:cluster); 1 = a single process, no cluster. */
  readonly workers: number;
  readonly logLevel: LogLevel;
  readonly shutdownTimeoutMs: number;
}

export function serverConfig(settings: ServerSettingValues): ServerConfig {
  return {
    production: settings.NODE_ENV === 'production',
    host: settings.HOST,
    port: settings.PORT,
    workers: settings.WORKERS,
    logLevel: settings.LOG_LEVEL,
    shutdownTimeoutMs: settings.SHUTDOWN_TIMEOUT_SECONDS * 1000,
  };
}
