/**
 * The revocation feed's log against real databases: SQLite (a temp file)
 * always, PostgreSQL when it answers (skips, saying why, otherwise; required
 * under CI=true). Revocations go through the SessionStore, as the server's do.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../../../test/helpers/postgres.js';
import type { Session } from '../../core/sessions/session.js';
import { REVOCATION_LOG_RETENTION_MS } from '../../core/sessions/revocation-feed.js';
import type { SqlDialect } from './dialects/dialect.js';
import { openPostgres } from './dialects/postgres.js';
import { openSqlite } from './dialects/sqlite.js';
import { migrateToLatest } from './migrator.js';
import { appendRevocations, SqlRevocationFeedStore } from './revocation-log.js';
import { SqlSessionStore } from './session-store.js';
import { SqlUserStore } from './user-store.js';
import { openingEventOf } from '../contract/session-store-contract.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const POOL = { max: 4, connectTimeoutMs: 2000, statementTimeoutMs: 10_000, idleTimeoutMs: 10_000 };
const postgresSkip = await postgresSkipReason();

interface Fixture {
  readonly dialect: SqlDialect;
  readonly sessions: SqlSessionStore;
  readonly feed: SqlRevocationFeedStore;
  readonly userId: string;
  /** A new live session of the user. */
  open(id: string, nowMs?: number): Promise<void>;
  close(): Promise<void>;
}

async function fixture(dialect: SqlDialect, cleanup: () => Promise<void>): Promise<Fixture> {
  await migrateToLatest(dialect);
  const user = await new SqlUserStore(dialect).create(
    { username: 'erin', usernameKey: 'erin', email: null, fullName: null, passwordHash: 'x', disabled: false, scopes: [] },
    T0,
  );
  const sessions = new SqlSessionStore(dialect);
  return {
    dialect,
    sessions,
    feed: new SqlRevocationFeedStore(dialect),
    userId: user.id,
    async open(id, nowMs = T0) {
      const session: Session = {
        id,
        userId: user.id,
        clientId: null,
        scopes: [],
        createdAt: nowMs,
        lastUsedAt: nowMs,
        idleExpiresAt: nowMs + 86_400_000,
        expiresAt: nowMs + 86_400_000,
        ip: null,
        userAgent: null,
        revokedAt: null,
        revokedReason: null,
      };
      await sessions.create(session, { id: `rt-${id}`, secretHash: 'h' }, openingEventOf(session));
    },
    async close() {
      await dialect.close();
      await cleanup();
    },
  };
}

const DIALECTS: ReadonlyArray<{ name: string; skip: string | undefined; make(): Promise<Fixture> }> = [
  {
    name: 'SQLite',
    skip: undefined,
    async make() {
      const dir = mkdtempSync(join(tmpdir(), 'portcullis-revocations-'));
      return fixture(openSqlite(join(dir, 'db.sqlite')), async () => rmSync(dir, { recursive: true, force: true }));
    },
  },
  {
    name: 'PostgreSQL',
    skip: postgresSkip,
    async make() {
      const database = await createTestDatabase();
      return fixture(openPostgres(database.url, POOL), () => database.drop());
    },
  },
];

const ids = (page: { sessions: ReadonlyArray<{ sessionId: string }> }) => page.sessions.map((entry) => entry.sessionId);
const LONG_AGO = T0 - REVOCATION_LOG_RETENTION_MS;

for (const { name, skip, make } of DIALECTS) {
  describe(`the revocation log on ${name}`, { skip }, () => {
    let f: Fixture;
    before(async () => {
      f = await make();
    });
    after(() => f?.close());

    it('numbers revocations in order and continues from a cursor, in pages', async () => {
      const empty = await f.feed.read(undefined, LONG_AGO, 100);
      assert.deepEqual(empty, { cursor: 0, full: true, more: false, sessions: [] });
      for (const id of ['a1', 'a2', 'a3', 'a4']) await f.open(id);
      assert.equal(await f.sessions.revoke('a1', 'logout', T0), true);
      assert.equal(await f.sessions.revoke('a1', 'logout', T0), false, 'revoked already: no second entry');
      const first = await f.feed.read(undefined, LONG_AGO, 100);
      assert.deepEqual(first, { cursor: 1, full: true, more: false, sessions: [{ sessionId: 'a1' }] });
      assert.deepEqual(await f.feed.read(1, LONG_AGO, 100), { cursor: 1, full: false, more: false, sessions: [] });

      const ended = await f.sessions.revokeAllOfUser(f.userId, 'logout_global', T0 + 1, { sessionId: 'a4', minTokenVersion: 3 });
      assert.deepEqual(ended.sort(), ['a2', 'a3']);
      const page1 = await f.feed.read(1, LONG_AGO, 2);
      assert.equal(page1.full, false);
      assert.equal(page1.more, true);
      assert.equal(page1.cursor, 3);
      const page2 = await f.feed.read(page1.cursor, LONG_AGO, 2);
      assert.deepEqual(page2, { cursor: 4, full: false, more: false, sessions: [{ sessionId: 'a4', minTokenVersion: 3 }] });
      assert.deepEqual([...ids(page1)].sort(), ['a2', 'a3']);
    });

    it('answers the whole list (full) for a cursor ahead of the log, and leaves out entries older than asked', async () => {
      const ahead = await f.feed.read(999, LONG_AGO, 100);
      assert.equal(ahead.full, true);
      assert.equal(ahead.cursor, 4);
      assert.deepEqual(ids(ahead).sort(), ['a1', 'a2', 'a3', 'a4']);
      const recent = await f.feed.read(undefined, T0 + 1, 100);
      assert.deepEqual(ids(recent).sort(), ['a2', 'a3', 'a4'], 'a1 was revoked before T0 + 1');
      assert.equal(recent.cursor, 4, 'the cursor passes the entries left out');
    });

    it('prunes what no token can outlive, and sends a cursor from before the pruning back to the start', async () => {
      const later = T0 + REVOCATION_LOG_RETENTION_MS + 10;
      await f.open('b1', later);
      await f.sessions.revoke('b1', 'logout', later);
      const rows = await f.dialect.db.selectFrom('session_revocations').select('session_id').execute();
      assert.deepEqual(
        rows.map((row) => row.session_id),
        ['b1'],
        'everything revoked before the retention went with the next revocation',
      );
      const old = await f.feed.read(2, later - REVOCATION_LOG_RETENTION_MS, 100);
      assert.deepEqual(old, { cursor: 5, full: true, more: false, sessions: [{ sessionId: 'b1' }] });
      assert.deepEqual(await f.feed.read(5, later - REVOCATION_LOG_RETENTION_MS, 100), {
        cursor: 5,
        full: false,
        more: false,
        sessions: [],
      });
    });

    it('logs every session of a bulk revocation, past one INSERT', async () => {
      const now = T0 + REVOCATION_LOG_RETENTION_MS + 20;
      const many = Array.from({ length: 1500 }, (_, i) => `bulk-${String(i).padStart(4, '0')}`);
      for (const id of many) await f.open(id, now);
      const before = (await f.feed.read(undefined, now - 1000, 10_000)).cursor;
      assert.equal((await f.sessions.revokeAllOfClient('none', 'client_removed', now)).length, 0, 'nothing revoked: nothing logged');
      assert.equal((await f.feed.read(undefined, now - 1000, 10_000)).cursor, before);
      const ended = await f.sessions.revokeAllOfUser(f.userId, 'user_disabled', now);
      // a4, kept by the password change above, goes too.
      assert.equal(ended.length, 1501);
      const page = await f.feed.read(before, now - 1000, 10_000);
      assert.equal(page.cursor, before + 1501);
      assert.deepEqual(new Set(ids(page)), new Set([...many, 'a4']));
    });
  });
}

/**
 * Two instances revoking at once on PostgreSQL: the one that numbers its
 * revocation first may commit last. A reader must never hand out a cursor
 * past a number that has not committed yet, or that revocation is lost to
 * every resource server whose cursor went past it.
 */
describe('the revocation log on PostgreSQL, revocations committing out of order', { skip: postgresSkip }, () => {
  let database: TestDatabase;
  let a: Fixture;
  let b: SqlDialect;

  before(async () => {
    database = await createTestDatabase();
    a = await fixture(openPostgres(database.url, POOL), async () => undefined);
    b = openPostgres(database.url, POOL);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await database?.drop();
  });

  it('never gives a cursor that skips a revocation still committing', async () => {
    await a.open('slow');
    await a.open('fast');
    // Instance A revokes `slow` and is slow to commit: its transaction stays open until `release`.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let numbered!: () => void;
    const isNumbered = new Promise<void>((resolve) => (numbered = resolve));
    const slow = a.dialect.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('sessions')
        .set({ revoked_at: new Date(T0).toISOString(), revoked_reason: 'logout' })
        .where('id', '=', 'slow')
        .execute();
      await appendRevocations(trx, [{ sessionId: 'slow' }], T0, LONG_AGO);
      numbered();
      await released;
    });
    await isNumbered;

    // Instance B revokes `fast` meanwhile, and a resource server reads the feed.
    let fastDone = false;
    const fast = new SqlSessionStore(b).revoke('fast', 'logout', T0).finally(() => (fastDone = true));
    await waitUntil(b, () => fastDone);
    const during = await new SqlRevocationFeedStore(b).read(undefined, LONG_AGO, 100);

    release();
    await slow;
    assert.equal(await fast, true);
    const next = await new SqlRevocationFeedStore(b).read(during.cursor, LONG_AGO, 100);
    const seen = new Set([...ids(during), ...ids(next)]);
    assert.deepEqual([...seen].sort(), ['fast', 'slow'], `read ${JSON.stringify(during)} then ${JSON.stringify(next)}`);
  });
});

/** Until B's revocation has committed, or waits for a lock (A's commit); whichever the code under test does. */
async function waitUntil(dialect: SqlDialect, done: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 1000; attempt += 1) {
    if (done()) return;
    const { rows } = await sql<{
      n: string;
    }>`select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(dialect.db);
    if (Number(rows[0]?.n ?? 0) > 0) return;
  }
  assert.fail('the second revocation neither committed nor waited');
}
