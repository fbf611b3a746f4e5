/**
 * The library's options: the few that every host sets, typed, and any other
 * setting by its environment-variable name (README "Configuration"), all
 * checked by loadConfig as the server's are. The library never reads
 * process.env itself.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Registration } from '../core/config.js';
import { loadConfig, type Env, type PortcullisConfig } from '../server/config.js';
import type { HostDatabase } from '../server/host-database.js';

/**
 * `{ url }`: a database Portcullis opens, and closes at close(): `sqlite:PATH` or `postgres://...`.
 * `{ kysely, dialect }`: the host's own connection, used as it is and never closed (see host-database.ts).
 * Either way Portcullis migrates its tables at start, and refuses a database where a table of the
 * same name (users, sessions, ...) is someone else's.
 */
export type DatabaseOption = { readonly url: string } | HostDatabase;

export interface PortcullisOptions {
  /** Signs tokens (HS256 by default) and seals secrets at rest. At least 32 bytes; keep it out of the code. */
  readonly secretKey: string;
  readonly database: DatabaseOption;
  /** The `iss` of the tokens: the public URL Portcullis answers at, prefix included (`https://app.example.com/auth`). */
  readonly issuer?: string;
  /** Whether `POST {prefix}/users` signs anyone up; default open (closed when settings.NODE_ENV is production). */
  readonly registration?: Registration;
  /** Any other setting by its variable name: `{ ACCESS_TOKEN_EXPIRE_MINUTES: '15', DEFAULT_SCOPES: 'me' }`. */
  readonly settings?: Env;
  /** Where Portcullis logs (Redis outages, key housekeeping, 5xx): a pino logger. The Fastify plugin passes the host's. */
  readonly logger?: FastifyBaseLogger;
}

export function embedConfig(options: PortcullisOptions): PortcullisConfig {
  if (options === null || typeof options !== 'object') throw new TypeError('Portcullis options must be an object');
  if (typeof options.secretKey !== 'string' || options.secretKey === '') {
    throw new TypeError('Portcullis options: secretKey is required (at least 32 bytes; generate one with: openssl rand -hex 32)');
  }
  const database = options.database as DatabaseOption | undefined;
  if (database === undefined || database === null || typeof database !== 'object') {
    throw new TypeError("Portcullis options: database is required: { url: 'sqlite:./auth.db' } or { kysely, dialect }");
  }
  if ('url' in database ? typeof database.url !== 'string' : !('kysely' in database)) {
    throw new TypeError("Portcullis options: database must be { url: 'sqlite:PATH' | 'postgres://...' } or { kysely, dialect }");
  }
  return loadConfig({
    // One process, not a cluster: the hashing pool may use every core.
    WORKERS: '1',
    ...options.settings,
    SECRET_KEY: options.secretKey,
    ...('url' in database ? { DATABASE_URL: database.url } : {}),
    ...(options.issuer === undefined ? {} : { ISSUER: options.issuer }),
    ...(options.registration === undefined ? {} : { REGISTRATION: options.registration }),
  });
}
