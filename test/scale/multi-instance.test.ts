/**
 * The scale-out issue's multi-instance behaviour, with real processes over
 * real HTTP: three `portcullis serve` processes on their own ports share one
 * fresh PostgreSQL database and one Redis (under a key prefix of their own).
 * A token from one is good on the others; a logout or a disabled user on one
 * is refused on the others within a second, although their caches were warm
 * (so is a scope taken away), and a change made with the CLI on every one of
 * them from the first request after the command returns;
 * the account rate limit is counted once for all; concurrent refreshes of one
 * token on two instances rotate it once; a database written by a newer
 * version is refused at start.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { cliEnv, makeDataDir, runCli, startServe, type CliEnv, type ServeProcess } from '../helpers/cli.js';
import { changeListenerCount, createTestDatabase, postgresSkipReason, type TestDatabase } from '../helpers/postgres.js';
import { sleep, startTogether, uniqueName, type Tokens } from '../helpers/scale.js';
import { redisSkipReason, TEST_REDIS_URL } from '../helpers/redis.js';
import { loadConfig } from '../../src/server/config.js';
import { openStorage, type SqlStorage } from '../../src/storage/sql/open-storage.js';
import type { Database } from '../../src/storage/sql/schema.js';
import { MIGRATION_TABLE } from '../../src/storage/sql/migrator.js';

const PASSWORD = 'three-gates-one-keeper-9';
/** Not test/helpers/server.ts's: that module loads the whole server in-process, and these tests only spawn it. */
const SECRET_KEY = 'scale-test-secret-key-that-is-long-enough-0123';
const ACCOUNT_BURST = 4;
/** What "at once" means across instances here: the bus delivers in milliseconds; a second leaves room for a busy 2-core machine. */
const PROPAGATION_BOUND_MS = 1000;

const postgresSkip = await postgresSkipReason();
const skip = postgresSkip ?? (await redisSkipReason());

function jsonPost(server: ServeProcess, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return server.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

function formPost(server: ServeProcess, path: string, fields: Record<string, string>): Promise<Response> {
  return server.fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
}

async function signUp(server: ServeProcess, username: string): Promise<void> {
  const response = await jsonPost(server, '/users', { username, password: PASSWORD });
  assert.equal(response.status, 201, `sign-up of ${username}: ${response.status} ${await response.text()}`);
}

async function login(server: ServeProcess, username: string, password = PASSWORD): Promise<Tokens> {
  const response = await formPost(server, '/token', { username, password });
  const text = await response.text();
  assert.equal(response.status, 200, `login of ${username}: ${response.status} ${text}`);
  return JSON.parse(text) as Tokens;
}

async function meStatus(server: ServeProcess, accessToken: string): Promise<number> {
  const response = await server.fetch('/users/me', { headers: { authorization: `Bearer ${accessToken}` } });
  await response.arrayBuffer();
  return response.status;
}

async function getStatus(server: ServeProcess, path: string, accessToken: string): Promise<number> {
  const response = await server.fetch(path, { headers: { authorization: `Bearer ${accessToken}` } });
  await response.arrayBuffer();
  return response.status;
}

/** Polls until GET `path` answers `status`; returns how long that took, or fails after `timeoutMs`. */
async function msUntilStatus(server: ServeProcess, path: string, accessToken: string, status: number, timeoutMs = 5000): Promise<number> {
  const started = performance.now();
  let last = 0;
  while (performance.now() - started < timeoutMs) {
    last = await getStatus(server, path, accessToken);
    if (last === status) return performance.now() - started;
    await sleep(10);
  }
  assert.fail(`${server.url}${path} still answered ${last}, not ${status}, after ${timeoutMs} ms`);
}

function msUntilMeStatus(server: ServeProcess, accessToken: string, status: number, timeoutMs = 5000): Promise<number> {
  return msUntilStatus(server, '/users/me', accessToken, status, timeoutMs);
}

/** Signs up and logs in `username` holding `admin` (given in the database: a login reads the user afresh). */
async function adminLogin(server: ServeProcess, databaseUrl: string, username: string): Promise<string> {
  await signUp(server, username);
  await withStorage(databaseUrl, (db) => db.updateTable('users').set({ scopes: 'admin' }).where('username', '=', username).execute());
  return (await login(server, username)).access_token;
}

function sessionIdOf(accessToken: string): string {
  const claims = JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8')) as { sid?: string };
  assert.ok(claims.sid, 'a user token carries sid');
  return claims.sid;
}

/** Runs `work` on the database directly, past every instance (and past the change bus). */
async function withStorage<T>(databaseUrl: string, work: (db: Kysely<Database>, storage: SqlStorage) => Promise<T>): Promise<T> {
  const storage = openStorage(loadConfig({ SECRET_KEY, DATABASE_URL: databaseUrl }).database);
  try {
    return await work(storage.dialect.db, storage);
  } finally {
    await storage.close();
  }
}

const listenerCount = changeListenerCount;

async function waitForListeners(databaseName: string, expected: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await listenerCount(databaseName)) < expected) {
    if (Date.now() > deadline) assert.fail(`fewer than ${expected} change listeners after ${timeoutMs} ms`);
    await sleep(50);
  }
}

describe('three portcullis serve processes on one PostgreSQL database and one Redis', { skip }, () => {
  let database: TestDatabase;
  let env: CliEnv;
  const dataDirs: string[] = [];
  let a: ServeProcess;
  let b: ServeProcess;
  let c: ServeProcess;

  before(async () => {
    database = await createTestDatabase();
    env = {
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: `${uniqueName('scale-multi-')}:`,
      // On a loaded machine a reply read after the default 200 ms would count a request in-process.
      REDIS_COMMAND_TIMEOUT_MS: '5000',
      SECRET_KEY,
      // One issuer for all: a token minted by one instance must verify on the others.
      ISSUER: 'http://portcullis.scale.test',
      RATE_LIMIT_IP_BURST: '100000',
      RATE_LIMIT_IP_PER_MINUTE: '1000000',
      // Small, and refilling too slowly to matter within the test (one token a minute).
      RATE_LIMIT_ACCOUNT_BURST: String(ACCOUNT_BURST),
      RATE_LIMIT_ACCOUNT_PER_MINUTE: '1',
      REFRESH_REUSE_GRACE_SECONDS: '0',
    };
    // Started together: they migrate the empty database at the same time, under the migration lock.
    const start = () => {
      const dataDir = makeDataDir('portcullis-scale-');
      dataDirs.push(dataDir);
      return startServe(cliEnv(dataDir, env));
    };
    [a, b, c] = (await startTogether([start, start, start])) as [ServeProcess, ServeProcess, ServeProcess];
    // Caches are only trusted while the bus listens, so wait for every listener before warming any.
    await waitForListeners(database.name, 3);
  });

  after(async () => {
    await Promise.all([a, b, c].map((server) => server?.stop('SIGKILL')));
    await database?.drop();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  it('serves a token issued by one instance on the others', async () => {
    const username = uniqueName('multi');
    await signUp(a, username);
    const tokens = await login(a, username);
    for (const server of [a, b, c]) {
      const response = await server.fetch('/users/me', { headers: { authorization: `Bearer ${tokens.access_token}` } });
      assert.equal(response.status, 200, server.url);
      assert.equal(((await response.json()) as { username: string }).username, username);
    }
  });

  it('refuses a logged-out access token on the other instances within a second, although their caches were warm', async () => {
    const username = uniqueName('logout');
    await signUp(a, username);
    const loggedOut = await login(a, username);
    const control = await login(a, username);
    for (const server of [b, c]) {
      for (let i = 0; i < 3; i += 1) {
        assert.equal(await meStatus(server, loggedOut.access_token), 200);
        assert.equal(await meStatus(server, control.access_token), 200);
      }
    }
    // The control proves the caches are warm: a revocation written straight into the database,
    // past the bus, is not seen by B and C (the cache answers). So the 401s below come from the bus.
    await withStorage(database.url, (db) =>
      db
        .updateTable('sessions')
        .set({ revoked_at: new Date().toISOString(), revoked_reason: 'logout' })
        .where('id', '=', sessionIdOf(control.access_token))
        .execute(),
    );
    assert.equal(await meStatus(b, control.access_token), 200, 'B answers from its warm cache');
    assert.equal(await meStatus(c, control.access_token), 200, 'C answers from its warm cache');

    const logout = await a.fetch('/logout', { method: 'POST', headers: { authorization: `Bearer ${loggedOut.access_token}` } });
    assert.equal(logout.status, 204);
    const [onB, onC] = await Promise.all([
      msUntilMeStatus(b, loggedOut.access_token, 401),
      msUntilMeStatus(c, loggedOut.access_token, 401),
    ]);
    assert.ok(onB < PROPAGATION_BOUND_MS, `B refused it after ${onB.toFixed(0)} ms`);
    assert.ok(onC < PROPAGATION_BOUND_MS, `C refused it after ${onC.toFixed(0)} ms`);
    assert.equal(await meStatus(a, loggedOut.access_token), 401);
    // And it stays refused (no stale entry comes back).
    for (const server of [b, c]) assert.equal(await meStatus(server, loggedOut.access_token), 401);
  });

  it('refuses the tokens of a user disabled through the admin API on the other instances within a second', async () => {
    const adminToken = await adminLogin(a, database.url, uniqueName('root'));

    const username = uniqueName('disabled');
    await signUp(b, username);
    const tokens = await login(b, username);
    for (const server of [b, c]) for (let i = 0; i < 2; i += 1) assert.equal(await meStatus(server, tokens.access_token), 200);

    const patched = await a.fetch(`/admin/users/${username}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ disabled: true }),
    });
    assert.equal(patched.status, 200, await patched.text());
    const [onB, onC] = await Promise.all([msUntilMeStatus(b, tokens.access_token, 401), msUntilMeStatus(c, tokens.access_token, 401)]);
    assert.ok(onB < PROPAGATION_BOUND_MS, `B refused it after ${onB.toFixed(0)} ms`);
    assert.ok(onC < PROPAGATION_BOUND_MS, `C refused it after ${onC.toFixed(0)} ms`);
    const refused = await formPost(c, '/token', { username, password: PASSWORD });
    assert.equal(refused.status, 401, 'no new tokens either');
  });

  it('refuses the tokens of a user disabled with the CLI on every instance within a second', async () => {
    const username = uniqueName('clidis');
    await signUp(c, username);
    const tokens = await login(c, username);
    for (const server of [a, b, c]) for (let i = 0; i < 2; i += 1) assert.equal(await meStatus(server, tokens.access_token), 200);

    // Another process on the same database: it publishes its change on the bus before it exits.
    const disabled = await runCli(['users', 'disable', username], { env: cliEnv(dataDirs[0]!, { DATABASE_URL: database.url }) });
    assert.equal(disabled.code, 0, disabled.stderr);
    const delays = await Promise.all([a, b, c].map((server) => msUntilMeStatus(server, tokens.access_token, 401)));
    for (const delay of delays) assert.ok(delay < PROPAGATION_BOUND_MS, `refused after ${delay.toFixed(0)} ms`);
  });

  it('refuses the admin routes to an admin demoted through the admin API on the other instances within a second', async () => {
    const rootToken = await adminLogin(a, database.url, uniqueName('root'));
    const demoted = uniqueName('demoted');
    const demotedToken = await adminLogin(b, database.url, demoted);
    // Warm on B and C: the token verified, its session and user cached.
    for (const server of [b, c])
      for (let i = 0; i < 2; i += 1) assert.equal(await getStatus(server, '/admin/users?limit=1', demotedToken), 200);

    const patched = await a.fetch(`/admin/users/${demoted}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${rootToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scopes: [] }),
    });
    assert.equal(patched.status, 200, await patched.text());
    assert.equal(await getStatus(a, '/admin/users?limit=1', demotedToken), 403, 'on A, the next request');
    const delays = await Promise.all([b, c].map((server) => msUntilStatus(server, '/admin/users?limit=1', demotedToken, 403)));
    for (const delay of delays) assert.ok(delay < PROPAGATION_BOUND_MS, `refused after ${delay.toFixed(0)} ms`);
    const regrant = await c.fetch(`/admin/users/${demoted}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${demotedToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scopes: ['admin'] }),
    });
    assert.equal(regrant.status, 403, 'and it cannot grant itself the scope back');
    assert.equal(await meStatus(b, demotedToken), 200, 'the token still serves what the account holds');
  });

  it('refuses the admin routes to an admin demoted with the CLI on every instance from the first request after it returns', async () => {
    const demoted = uniqueName('clidemoted');
    const token = await adminLogin(c, database.url, demoted);
    for (const server of [a, b, c])
      for (let i = 0; i < 2; i += 1) assert.equal(await getStatus(server, '/admin/users?limit=1', token), 200);

    // The command returns once every instance has confirmed that it applied the change.
    const demotion = await runCli(['users', 'update', demoted, '--scopes', 'me'], {
      env: cliEnv(dataDirs[0]!, { DATABASE_URL: database.url }),
    });
    assert.equal(demotion.code, 0, demotion.stderr);
    assert.equal(demotion.stderr, '', 'every instance confirmed');
    const statuses = await Promise.all([a, b, c].map((server) => getStatus(server, '/admin/users?limit=1', token)));
    assert.deepEqual(statuses, [403, 403, 403]);
  });

  it('counts the account rate limit once across the instances', async () => {
    const username = uniqueName('limited');
    await signUp(a, username);
    const servers = [a, b, c];
    const attempts = 3 * ACCOUNT_BURST;
    // All at once, spread over A, B and C: the shared bucket in Redis is taken atomically.
    const statuses = await Promise.all(
      Array.from({ length: attempts }, async (_, i) => {
        const response = await formPost(servers[i % 3]!, '/token', { username, password: PASSWORD });
        await response.arrayBuffer();
        return response.status;
      }),
    );
    const ok = statuses.filter((status) => status === 200).length;
    const limited = statuses.filter((status) => status === 429).length;
    assert.equal(ok, ACCOUNT_BURST, `statuses: ${statuses.join(' ')}`);
    assert.equal(limited, attempts - ACCOUNT_BURST, `statuses: ${statuses.join(' ')}`);
    // Every instance now refuses this account, whichever served the successes.
    for (const server of servers) {
      const response = await formPost(server, '/token', { username, password: PASSWORD });
      await response.arrayBuffer();
      assert.equal(response.status, 429, server.url);
    }
  });

  it('rotates one refresh token once when two instances are asked to refresh it at the same time', async () => {
    const username = uniqueName('race');
    await signUp(b, username);
    const tokens = await login(a, username);
    const sessionId = sessionIdOf(tokens.access_token);
    // Ten at once, split over A and B, with REFRESH_REUSE_GRACE_SECONDS=0: no retry is answered with the successor.
    const replies = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const response = await formPost(i % 2 === 0 ? a : b, '/token', {
          grant_type: 'refresh_token',
          refresh_token: tokens.refresh_token,
        });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      }),
    );
    const winners = replies.filter((reply) => reply.status === 200);
    assert.equal(winners.length, 1, `statuses: ${replies.map((reply) => reply.status).join(' ')}`);
    const winner = winners[0]!.body as unknown as Tokens;
    assert.notEqual(winner.refresh_token, tokens.refresh_token, 'a new refresh token');
    assert.equal(typeof winner.access_token, 'string', 'and a new access token');
    for (const reply of replies.filter((r) => r.status !== 200)) {
      assert.equal(reply.status, 401);
      assert.equal(reply.body.error, 'invalid_grant');
    }

    const rows = await withStorage(database.url, (db) =>
      db.selectFrom('refresh_tokens').selectAll().where('session_id', '=', sessionId).execute(),
    );
    const unrotated = rows.filter((row) => row.rotated_at === null);
    assert.equal(unrotated.length, 1, 'exactly one refresh token of the session is unrotated');
    assert.equal(rows.length, 2, 'the original and its one successor');
    const original = rows.find((row) => row.rotated_at !== null)!;
    assert.equal(original.successor_id, unrotated[0]!.id);
    assert.equal(winner.refresh_token.split('.')[0], unrotated[0]!.id, 'the one handed out is the successor');
  });
});

describe('portcullis serve against a schema from a newer version', () => {
  const dataDir = makeDataDir('portcullis-scale-');
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  async function assertRefusesNewerSchema(databaseUrl: string): Promise<void> {
    // The current schema, then a migration only a newer version would have run.
    await withStorage(databaseUrl, async (db, storage) => {
      await storage.migrate();
      await sql`insert into ${sql.table(MIGRATION_TABLE)} (name, timestamp) values ('9999-future', ${new Date().toISOString()})`.execute(
        db,
      );
    });
    // One process, and a cluster primary (which migrates before it forks).
    for (const workers of ['1', '2']) {
      const serveEnv = cliEnv(dataDir, { DATABASE_URL: databaseUrl, SECRET_KEY, PORT: '0', WORKERS: workers });
      // runCli fails the test if serve starts and keeps running instead of refusing.
      const served = await runCli(['serve'], { env: serveEnv, timeoutMs: 15_000 });
      assert.notEqual(served.code, 0, `WORKERS=${workers}: serve exited ${served.code}\n${served.stdout}\n${served.stderr}`);
      assert.match(served.stderr, /schema is newer/i, `WORKERS=${workers}`);
      assert.match(served.stderr, /9999-future/, `WORKERS=${workers}`);
    }
  }

  it('refuses to start on PostgreSQL, saying the schema is newer, and exits non-zero', { skip: postgresSkip }, async () => {
    const database = await createTestDatabase();
    try {
      await assertRefusesNewerSchema(database.url);
    } finally {
      await database.drop();
    }
  });

  it('refuses to start on SQLite, saying the schema is newer, and exits non-zero', async () => {
    await assertRefusesNewerSchema(`sqlite:${join(dataDir, 'newer.db')}`);
  });
});
