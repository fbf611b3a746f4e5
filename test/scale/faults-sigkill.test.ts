/**
 * The scale-out issue's crash case (split from faults.test.ts to keep each
 * file within its time budget): `portcullis serve` is SIGKILLed in the middle
 * of sign-ups, logins and refresh rotations, on PostgreSQL and on SQLite, and
 * restarted on the same database. Every answered sign-up survives, every
 * refresh token handed out is stored, and no refresh token is half-rotated.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { cliEnv, makeDataDir, startServe, type CliEnv, type ServeProcess } from '../helpers/cli.js';
import { createTestDatabase, postgresSkipReason } from '../helpers/postgres.js';
import { sleep, uniqueName, type Tokens } from '../helpers/scale.js';
import { loadConfig } from '../../src/server/config.js';
import { openStorage } from '../../src/storage/sql/open-storage.js';
import { UNTHROTTLED } from '../helpers/unthrottled.js';

const PASSWORD = 'killed-mid-sentence-3';
/** Not test/helpers/server.ts's: that module loads the whole server in-process, and these tests only spawn it. */
const SECRET_KEY = 'scale-test-secret-key-that-is-long-enough-0123';
/** The load runs at least this long before the kill, and until it has answered enough to check. */
const MIN_LOAD_MS = 1000;
const MAX_LOAD_MS = 15_000;
const MIN_SIGN_UPS = 3;
const MIN_REFRESH_TOKENS = 6;

const postgresSkip = await postgresSkipReason();

function post(server: ServeProcess, path: string, body: { form?: Record<string, string>; json?: unknown }): Promise<Response> {
  return server.fetch(path, {
    method: 'POST',
    headers: { 'content-type': body.form ? 'application/x-www-form-urlencoded' : 'application/json' },
    body: body.form ? new URLSearchParams(body.form).toString() : JSON.stringify(body.json),
  });
}

async function loginStatus(server: ServeProcess, username: string): Promise<number> {
  const response = await post(server, '/token', { form: { username, password: PASSWORD } });
  await response.arrayBuffer();
  return response.status;
}

/** What the clients were told before the kill: the sign-ups answered 201, the refresh tokens handed out. */
interface Outcome {
  readonly signedUp: string[];
  readonly refreshTokenIds: Set<string>;
  requests: number;
  /** How each loop ended: with the kill, its request fails (fetch rejects with a TypeError). */
  readonly endings: Array<{ readonly at: number; readonly error: unknown }>;
}

/**
 * Runs sign-ups, logins and refresh chains against `server` until a request fails (the kill), and
 * records what was answered. Each loop stops at its first failed request.
 */
function runLoad(server: ServeProcess, existing: string): { outcome: Outcome; done: Promise<void> } {
  const outcome: Outcome = { signedUp: [], refreshTokenIds: new Set(), requests: 0, endings: [] };
  const keep = (tokens: Tokens) => outcome.refreshTokenIds.add(tokens.refresh_token.split('.')[0]!);
  const guarded = async (work: () => Promise<void>) => {
    try {
      for (;;) await work();
    } catch (error) {
      outcome.endings.push({ at: performance.now(), error });
    }
  };
  const signUps = async () => {
    const username = uniqueName('kill');
    const response = await post(server, '/users', { json: { username, password: PASSWORD } });
    outcome.requests += 1;
    await response.arrayBuffer();
    if (response.status === 201) outcome.signedUp.push(username);
  };
  const logins = async () => {
    const response = await post(server, '/token', { form: { username: existing, password: PASSWORD } });
    outcome.requests += 1;
    if (response.status === 200) keep((await response.json()) as Tokens);
    else await response.arrayBuffer();
  };
  const refreshChain = async () => {
    const response = await post(server, '/token', { form: { username: existing, password: PASSWORD } });
    outcome.requests += 1;
    assert.equal(response.status, 200);
    let tokens = (await response.json()) as Tokens;
    keep(tokens);
    for (;;) {
      const refreshed = await post(server, '/token', { form: { grant_type: 'refresh_token', refresh_token: tokens.refresh_token } });
      outcome.requests += 1;
      assert.equal(refreshed.status, 200);
      tokens = (await refreshed.json()) as Tokens;
      keep(tokens);
    }
  };
  const done = Promise.all([guarded(signUps), guarded(signUps), guarded(logins), guarded(refreshChain), guarded(refreshChain)]).then(
    () => undefined,
  );
  return { outcome, done };
}

/** Returns what happened, for the test's diagnostics. */
async function crashAndRecover(env: CliEnv, databaseUrl: string): Promise<string> {
  const existing = uniqueName('regular');
  const server = await startServe(env);
  let restarted: ServeProcess | undefined;
  try {
    const created = await post(server, '/users', { json: { username: existing, password: PASSWORD } });
    assert.equal(created.status, 201);
    const { outcome, done } = runLoad(server, existing);
    const loadStarted = performance.now();
    while (
      performance.now() - loadStarted < MIN_LOAD_MS ||
      outcome.signedUp.length < MIN_SIGN_UPS ||
      outcome.refreshTokenIds.size < MIN_REFRESH_TOKENS
    ) {
      assert.ok(performance.now() - loadStarted < MAX_LOAD_MS, `too little answered in ${MAX_LOAD_MS} ms`);
      assert.equal(outcome.endings.length, 0, `a loop ended before the kill: ${String(outcome.endings[0]?.error)}`);
      await sleep(20);
    }
    const killedAt = performance.now();
    server.child.kill('SIGKILL');
    const exit = await server.exited;
    assert.equal(exit.signal, 'SIGKILL');
    await done;
    assert.equal(outcome.endings.length, 5);
    for (const { at, error } of outcome.endings) {
      assert.ok(error instanceof TypeError && at >= killedAt, `each loop ran until the kill, and ended with it: ${String(error)}`);
    }

    // The database as the kill left it, read directly.
    const storage = openStorage(loadConfig({ SECRET_KEY, DATABASE_URL: databaseUrl }).database);
    try {
      const db = storage.dialect.db;
      const sessions = await db.selectFrom('sessions').select('id').execute();
      const tokens = await db.selectFrom('refresh_tokens').selectAll().execute();
      const byId = new Map(tokens.map((row) => [row.id, row]));
      const sessionIds = new Set(sessions.map((row) => row.id));
      assert.ok(sessions.length >= 3, `sessions stored: ${sessions.length}`);
      for (const row of tokens) assert.ok(sessionIds.has(row.session_id), `refresh token ${row.id} belongs to a stored session`);
      for (const sessionId of sessionIds) {
        const ofSession = tokens.filter((row) => row.session_id === sessionId);
        assert.ok(ofSession.length >= 1, `session ${sessionId} has its first refresh token`);
        const unrotated = ofSession.filter((row) => row.rotated_at === null);
        assert.ok(unrotated.length <= 1, `session ${sessionId}: ${unrotated.length} unrotated refresh tokens`);
        for (const row of ofSession.filter((r) => r.rotated_at !== null)) {
          // Half-rotated would be: marked rotated, but its successor never written.
          assert.ok(row.successor_id !== null && row.successor_sealed !== null, `rotated token ${row.id} names its successor`);
          const successor = byId.get(row.successor_id);
          assert.ok(successor, `the successor of ${row.id} exists`);
          assert.equal(successor.session_id, sessionId, `the successor of ${row.id} is of the same session`);
        }
      }
      for (const id of outcome.refreshTokenIds) assert.ok(byId.has(id), `refresh token ${id}, handed out before the kill, is stored`);
      const users = new Set((await db.selectFrom('users').select('username').execute()).map((row) => row.username));
      for (const username of outcome.signedUp) assert.ok(users.has(username), `${username}, answered 201, is stored`);
    } finally {
      await storage.close();
    }

    // Restarted on the same database: every answered sign-up can log in.
    restarted = await startServe(env);
    const pending = [...outcome.signedUp, existing];
    const statuses: Array<[string, number]> = [];
    await Promise.all(
      Array.from({ length: 3 }, async () => {
        for (let username = pending.pop(); username !== undefined; username = pending.pop()) {
          statuses.push([username, await loginStatus(restarted!, username)]);
        }
      }),
    );
    const refused = statuses.filter(([, status]) => status !== 200);
    assert.deepEqual(refused, [], 'every user answered 201 before the kill logs in after the restart');
    return `${outcome.requests} requests answered before the kill: ${outcome.signedUp.length} sign-ups, ${outcome.refreshTokenIds.size} refresh tokens handed out`;
  } finally {
    await server.stop('SIGKILL');
    await restarted?.stop('SIGKILL');
  }
}

describe('portcullis serve killed with SIGKILL under load', () => {
  const settings: CliEnv = { SECRET_KEY, ...UNTHROTTLED };

  it('loses no answered sign-up and half-rotates no refresh token on PostgreSQL', { skip: postgresSkip }, async (t) => {
    const database = await createTestDatabase();
    const dataDir = makeDataDir('portcullis-kill-');
    try {
      t.diagnostic(await crashAndRecover(cliEnv(dataDir, { ...settings, DATABASE_URL: database.url }), database.url));
    } finally {
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('loses no answered sign-up and half-rotates no refresh token on SQLite', async (t) => {
    const dataDir = makeDataDir('portcullis-kill-');
    const databaseUrl = `sqlite:${dataDir}/portcullis.db`;
    try {
      t.diagnostic(await crashAndRecover(cliEnv(dataDir, { ...settings, DATABASE_URL: databaseUrl }), databaseUrl));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
