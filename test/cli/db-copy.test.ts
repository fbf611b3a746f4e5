/**
 * `portcullis db copy` end to end: the real binary between real databases.
 * The source is a SQLite file filled the way a deployment fills it: a server
 * (RS256, so signing keys exist) with a sign-up, a login and a refresh
 * (sessions, refresh tokens, audit events) and a service client, and then
 * 6000 users imported by the CLI (enough for a progress line). The
 * PostgreSQL parts skip, saying why, when PostgreSQL is absent (and fail
 * under CI=true).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import Database from 'better-sqlite3';
import bcrypt from 'bcryptjs';
import pg from 'pg';
import { CLI_CWD, cliEnv, makeDataDir, runCli, type CliEnv, type CliResult } from '../helpers/cli.js';
import { bearer, formPost, jsonPost, signUp, startTestServer } from '../helpers/server.js';
import { passwordLogin, refresh, refreshOk, type Tokens } from '../helpers/lifecycle.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../helpers/postgres.js';

/** Written out here, not imported, so a table the copy forgets is caught. */
const TABLES = [
  'users',
  'sessions',
  'refresh_tokens',
  'clients',
  'audit_events',
  'signing_keys',
  'session_revocations',
  'revocation_sequence',
  'mail_outbox',
  'mail_tokens',
] as const;
type Counts = Record<(typeof TABLES)[number], number>;

const IMPORTED = 6000;
const IMPORTED_PASSWORD = 'imported-password-1';
const ALICE_PASSWORD = 'alice-password-long-1';
/** PostgreSQL here trusts local connections, so a password in the URL is accepted and ignored: it must never be printed. */
const URL_PASSWORD = 'pw-that-must-not-show-7f3a';

function sqliteCounts(path: string): Counts {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return Object.fromEntries(TABLES.map((t) => [t, (db.prepare(`select count(*) as n from ${t}`).get() as { n: number }).n])) as Counts;
  } finally {
    db.close();
  }
}

async function postgresCounts(url: string): Promise<Counts> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const counts: Partial<Counts> = {};
    for (const t of TABLES) counts[t] = Number((await client.query<{ n: string }>(`select count(*) as n from ${t}`)).rows[0]!.n);
    return counts as Counts;
  } finally {
    await client.end();
  }
}

function withPassword(url: string): string {
  const parsed = new URL(url);
  parsed.password = URL_PASSWORD;
  return parsed.toString();
}

function copy(from: string, to: string, env: CliEnv, ...flags: string[]): Promise<CliResult> {
  return runCli(['db', 'copy', '--from', from, '--to', to, ...flags], { env, timeoutMs: 30_000 });
}

/** The summary table on stdout, as counts. */
function summaryCounts(stdout: string): Record<string, number> {
  return Object.fromEntries(
    stdout
      .split('\n')
      .map((line) => /^([a-z_]+)\s+(\d+)$/.exec(line))
      .filter((match) => match !== null)
      .map((match) => [match[1]!, Number(match[2])]),
  );
}

function assertNothingSecretPrinted(result: CliResult, hash: string): void {
  const output = result.stdout + result.stderr;
  assert.ok(!output.includes(URL_PASSWORD), 'the URL password is not printed');
  assert.ok(!output.includes(hash) && !output.includes('alice'), 'no row content is printed');
}

const skip = await postgresSkipReason();

describe('portcullis db copy', () => {
  const dataDir = makeDataDir('portcullis-db-copy-');
  const env = cliEnv(dataDir);
  const sourcePath = join(dataDir, 'portcullis.db');
  const source = `sqlite:${sourcePath}`;
  const importedHash = bcrypt.hashSync(IMPORTED_PASSWORD, 4);
  /** Issued by the SQLite server before the copy. */
  let beforeCopy: Tokens;
  let billing: { id: string; secret: string };
  let sourceCounts: Counts;

  before(async () => {
    const file = join(dataDir, 'users.json');
    const rows = Array.from({ length: IMPORTED }, (_, i) => ({
      username: `user${String(i).padStart(5, '0')}`,
      hashed_password: importedHash,
    }));
    writeFileSync(file, JSON.stringify(rows));
    const server = await startTestServer({ DATA_DIR: dataDir, DATABASE_URL: source, ALGORITHM: 'RS256' });
    try {
      // The import runs beside the server, as it may in a deployment (the server has migrated the file).
      const imported = runCli(['users', 'import', file], { env });
      assert.equal((await signUp(server, 'alice', ALICE_PASSWORD, { email: 'alice@example.test' })).status, 201);
      // A password reset token (its mail goes to the log transport).
      assert.equal((await jsonPost(server, '/password/forgot', { username: 'alice' })).status, 202);
      await server.portcullis.passwordResets.settled();
      const first = await passwordLogin(server, 'alice', ALICE_PASSWORD);
      beforeCopy = await refreshOk(server, first.refresh_token);
      // A second login, logged out: the revocation feed's log has a row to copy.
      const second = await passwordLogin(server, 'alice', ALICE_PASSWORD);
      assert.equal((await server.fetch('/logout', { method: 'POST', headers: bearer(second.access_token) })).status, 204);
      const created = await server.portcullis.clients.create('billing', ['me'], 'cli');
      billing = { id: created.client.id, secret: created.secret };
      // A message in the outbox (development without SMTP: the log transport sends it).
      const mailed = await runCli(['mail', 'test', 'alice@example.test'], { env });
      assert.equal(mailed.code, 0, mailed.stderr);
      const { code, stderr } = await imported;
      assert.equal(code, 0, stderr);
    } finally {
      await server.stop();
    }
    sourceCounts = sqliteCounts(sourcePath);
    assert.equal(sourceCounts.users, IMPORTED + 1);
    for (const t of TABLES) assert.ok(sourceCounts[t] > 0, `the source has ${t}`);
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('copies SQLite to a new SQLite file with progress lines, a summary and verified counts', async () => {
    const targetPath = join(dataDir, 'copy.db');
    const result = await copy(source, `sqlite:${targetPath}`, env, '--batch-size', '700');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`^users: 5\\d00/${IMPORTED + 1}$`, 'm'), 'a progress line within the users table');
    assert.match(result.stderr, new RegExp(`^users: ${IMPORTED + 1}/${IMPORTED + 1}$`, 'm'));
    for (const t of TABLES) assert.match(result.stderr, new RegExp(`^${t}: ${sourceCounts[t]}/${sourceCounts[t]}$`, 'm'), t);
    assert.deepEqual(sqliteCounts(targetPath), sourceCounts);
    const summary = summaryCounts(result.stdout);
    for (const t of TABLES) assert.equal(summary[t], sourceCounts[t], t);
    assert.match(result.stdout, /same SECRET_KEY/);
    assertNothingSecretPrinted(result, importedHash);
  });

  // Independent of each other (each has files of its own), so they run side by side.
  describe('refusals and failures, which write nothing', { concurrency: true }, () => {
    it('refuses a target that holds rows, naming the tables and counts, and leaves it unchanged', async () => {
      const targetPath = join(dataDir, 'not-empty.db');
      copyFileSync(sourcePath, targetPath);
      const result = await copy(source, `sqlite:${targetPath}`, env);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, new RegExp(`not empty \\(users: ${IMPORTED + 1} rows, sessions: 2 rows, refresh_tokens: 3 rows, `));
      assert.match(result.stderr, /never merges/);
      assert.deepEqual(sqliteCounts(targetPath), sourceCounts);
      assert.equal(result.stdout, '');
    });

    it('refuses the same database for --from and --to (exit 1)', async () => {
      // The same file by another path (a relative one resolves from CLI_CWD, where runCli runs);
      // the same PostgreSQL database as another user (no connection is needed to tell).
      const [sqlite, postgres] = await Promise.all([
        copy(source, `sqlite:${relative(CLI_CWD, dataDir)}/../${basename(dataDir)}/./portcullis.db`, env),
        copy('postgres://a:one@db.example:5432/auth', 'postgres://b:two@DB.example/auth', env),
      ]);
      assert.equal(sqlite.code, 1, sqlite.stderr);
      assert.match(sqlite.stderr, /--from and --to are the same database/);
      assert.equal(postgres.code, 1, postgres.stderr);
      assert.match(postgres.stderr, /same database \(postgres db\.example:5432\/auth\)/);
      assert.doesNotMatch(postgres.stderr, /one|two/);
    });

    it('exits 1 for a bad --batch-size', async () => {
      const result = await copy(source, `sqlite:${join(dataDir, 'unused.db')}`, env, '--batch-size', '0');
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /--batch-size must be an integer from 1 to 100000/);
    });

    it('exits 2 and writes nothing when the source cannot be read', async () => {
      const garbage = join(dataDir, 'garbage.db');
      writeFileSync(garbage, 'this is not a SQLite database, just some text that is long enough to have a header '.repeat(20));
      const targetPath = join(dataDir, 'after-garbage.db');
      const [result, missing] = await Promise.all([
        copy(`sqlite:${garbage}`, `sqlite:${targetPath}`, env),
        copy(`sqlite:${join(dataDir, 'missing.db')}`, `sqlite:${join(dataDir, 'after-missing.db')}`, env),
      ]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /The source database \(sqlite .*garbage\.db\): file is not a database/);
      assert.match(result.stderr, /No rows were written to the target/);
      assert.equal(existsSync(targetPath), false, 'the target is not even created');

      assert.equal(missing.code, 2, missing.stderr);
      assert.match(missing.stderr, /The source database sqlite .*missing\.db does not exist/);
      assert.equal(existsSync(join(dataDir, 'missing.db')), false, 'a mistyped source is not created');
    });

    it('refuses a source whose schema is newer than this version knows', async () => {
      const newer = join(dataDir, 'newer.db');
      copyFileSync(sourcePath, newer);
      const db = new Database(newer);
      db.prepare('insert into portcullis_migration (name, timestamp) values (?, ?)').run('9999-from-the-future', new Date().toISOString());
      db.close();
      const result = await copy(`sqlite:${newer}`, `sqlite:${join(dataDir, 'from-newer.db')}`, env);
      assert.equal(result.code, 2, result.stderr);
      assert.match(
        result.stderr,
        /The source database .*newer than this version of Portcullis knows \(unknown migrations: 9999-from-the-future\)/,
      );
    });

    it('rolls back a copy that fails part-way, leaving the PostgreSQL target empty', { skip }, async () => {
      // PostgreSQL text cannot hold a NUL character, SQLite's can: the last table fails after the users went in.
      const broken = join(dataDir, 'nul.db');
      copyFileSync(sourcePath, broken);
      const db = new Database(broken);
      db.prepare("update signing_keys set retired_at = 'x' || char(0) || 'y' where kid = (select max(kid) from signing_keys)").run();
      db.close();
      const empty = await createTestDatabase();
      try {
        const result = await copy(`sqlite:${broken}`, empty.url, env);
        assert.equal(result.code, 2, result.stderr);
        assert.match(result.stderr, new RegExp(`^users: ${IMPORTED + 1}/${IMPORTED + 1}$`, 'm'), 'the users were copied first');
        assert.match(result.stderr, /Copying signing_keys failed after \d+ of \d+ rows/);
        assert.match(result.stderr, /No rows were written to the target/);
        assert.deepEqual(
          Object.values(await postgresCounts(empty.url)),
          TABLES.map(() => 0),
        );
      } finally {
        await empty.drop();
      }
    });
  });

  describe('with PostgreSQL', () => {
    let target: TestDatabase | undefined;
    before(async () => {
      if (!skip) target = await createTestDatabase();
    });
    after(() => target?.drop());

    it('copies every table from SQLite to an empty PostgreSQL database, never printing the password', { skip }, async () => {
      const result = await copy(source, withPassword(target!.url), env);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, new RegExp(`^users: 5000/${IMPORTED + 1}$`, 'm'), 'a progress line within the users table');
      assert.match(result.stderr, new RegExp(`to postgres 127\\.0\\.0\\.1:5432/${target!.name} `));
      assert.deepEqual(await postgresCounts(target!.url), sourceCounts);
      const summary = summaryCounts(result.stdout);
      for (const t of TABLES) assert.equal(summary[t], sourceCounts[t], t);
      assertNothingSecretPrinted(result, importedHash);
    });

    it('serves the copied users, keys and sessions from PostgreSQL with the same SECRET_KEY', { skip }, async () => {
      const server = await startTestServer({ DATABASE_URL: target!.url, ALGORITHM: 'RS256' });
      try {
        // The access token was signed before the copy by a key that came along with it.
        assert.equal((await server.fetch('/users/me', { headers: bearer(beforeCopy.access_token) })).status, 200);
        assert.equal((await refresh(server, beforeCopy.refresh_token)).status, 200, 'a refresh token issued before the copy');
        await passwordLogin(server, 'alice', ALICE_PASSWORD);
        await passwordLogin(server, 'user05999', IMPORTED_PASSWORD);
        const grant = await formPost(server, '/token', {
          grant_type: 'client_credentials',
          client_id: billing.id,
          client_secret: billing.secret,
        });
        assert.equal(grant.status, 200, 'the service client authenticates');
      } finally {
        await server.stop();
      }
    });

    it('copies PostgreSQL back to SQLite with identical row counts', { skip }, async () => {
      const backPath = join(dataDir, 'back.db');
      const result = await copy(target!.url, `sqlite:${backPath}`, env);
      assert.equal(result.code, 0, result.stderr);
      const counts = await postgresCounts(target!.url);
      assert.ok(counts.sessions > sourceCounts.sessions, 'the server on PostgreSQL added sessions');
      assert.deepEqual(sqliteCounts(backPath), counts);
    });
  });
});
