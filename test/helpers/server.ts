/**
 * End-to-end helpers: start the real server (the same wiring as
 * `portcullis serve`) on a free port with a fresh database, and speak real
 * HTTP to it. The database is a SQLite file in a temp folder, or, when the
 * suite runs with TEST_DATABASE=postgres, a fresh PostgreSQL database
 * (dropped when the server stops).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../src/core/clock.js';
import { loadConfig, type Env, type PortcullisConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { createTestDatabase, ON_POSTGRES, type TestDatabase } from './postgres.js';

export { UNTHROTTLED } from './unthrottled.js';

export const TEST_SECRET_KEY = 'test-secret-key-that-is-long-enough-0123456789';

export interface TestServer extends RunningServer {
  readonly config: PortcullisConfig;
  readonly dataDir: string;
  /** The settings that point another server (or a restart) at this server's database. */
  readonly sameDatabase: Env;
  /** fetch against the server: `server.fetch('/users/me', { headers })`. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

export function makeTempDir(prefix = 'portcullis-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface TestServerOptions {
  /**
   * The time the server goes by (tokens, sessions, login backoff, in-process rate limits; Redis's
   * rate limits count on Redis's clock): a test that moves it on (fixedClock) decides when a
   * backoff ends or a bucket refills, however long its requests take.
   */
  readonly clock?: Clock;
  /** Where the server logs (default: nowhere, LOG_LEVEL=silent): a test that reads the log passes a pino logger of its own. */
  readonly logger?: FastifyBaseLogger;
}

export async function startTestServer(env: Env = {}, options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = env.DATA_DIR ?? makeTempDir();
  // A database of its own on PostgreSQL, unless the test points this server at one (a restart, a second instance).
  const owned: TestDatabase | undefined = ON_POSTGRES && env.DATABASE_URL === undefined ? await createTestDatabase() : undefined;
  const config = loadConfig({
    SECRET_KEY: TEST_SECRET_KEY,
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dataDir,
    ISSUER: 'http://portcullis.test',
    LOG_LEVEL: 'silent',
    // Tests make many requests from 127.0.0.1 (and log in as one user often): rate limits that never
    // trip, unless a test sets its own. The rate-limit tests do; the defaults are tested in core.
    RATE_LIMIT_IP_BURST: '100000',
    RATE_LIMIT_IP_PER_MINUTE: '1000000',
    RATE_LIMIT_ACCOUNT_BURST: '100000',
    RATE_LIMIT_ACCOUNT_PER_MINUTE: '1000000',
    // Two test files, a browser and their servers share two cores: waits that answer 503 in production
    // (a hash queued over a second, a database connection not had in two) are a loaded CI machine here.
    // The admission-control and fault tests set their own.
    HASH_MAX_WAIT_MS: '10000',
    // A Redis reply read after 200 ms (the process descheduled) would count a request in-process.
    REDIS_COMMAND_TIMEOUT_MS: '5000',
    DATABASE_CONNECT_TIMEOUT_MS: '10000',
    DATABASE_STATEMENT_TIMEOUT_MS: '30000',
    ...(owned ? { DATABASE_URL: owned.url } : {}),
    ...env,
  });
  let server: RunningServer;
  try {
    server = await startServer(config, options.logger, undefined, options.clock ? { clock: options.clock } : {});
  } catch (error) {
    await owned?.drop();
    throw error;
  }
  const sameDatabase: Env =
    config.database.kind === 'postgres' ? { DATA_DIR: dataDir, DATABASE_URL: config.database.url } : { DATA_DIR: dataDir };
  return {
    ...server,
    config,
    dataDir,
    sameDatabase,
    fetch: (path, init) => fetch(`${server.url}${path}`, init),
    async stop() {
      await server.close();
      await owned?.drop();
      if (env.DATA_DIR === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The guide's client: a form-encoded POST /token. */
export async function formPost(server: TestServer, path: string, fields: Record<string, string>): Promise<Response> {
  return server.fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
}

export async function jsonPost(server: TestServer, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return server.fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

export async function signUp(
  server: TestServer,
  username: string,
  password: string,
  extra: Record<string, unknown> = {},
): Promise<Response> {
  return jsonPost(server, '/users', { username, password, ...extra });
}

export async function login(server: TestServer, username: string, password: string, scope?: string): Promise<string> {
  const response = await formPost(server, '/token', { username, password, ...(scope === undefined ? {} : { scope }) });
  if (response.status !== 200) throw new Error(`login failed: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as { access_token: string };
  return body.access_token;
}

export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}
