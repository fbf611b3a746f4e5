/**
 * Group commit on real SQLite files: overlapping transactions share one COMMIT,
 * none is answered before that COMMIT, failures stay where they belong, and
 * the real stores keep their guarantees on it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { SqliteGroupCommitDialect, type GroupCommitEvent, type GroupCommitOptions } from './sqlite-group-commit.js';
import { classifySqliteError, openSqlite } from './sqlite.js';
import { openStorage } from '../open-storage.js';
import type { Session } from '../../../core/sessions/session.js';
import { openingEventOf } from '../../contract/session-store-contract.js';

interface TestTables {
  t: { id: number; v: string };
  parent: { id: number };
  child: { id: number; parent_id: number };
}

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-gc-'));
  dirs.push(dir);
  return join(dir, 'test.db');
}

/** A database file with the test tables, and a connection of another "process" to look at it from outside. */
function prepareFile(): { path: string; outside: BetterSqlite3.Database } {
  const path = tempFile();
  const setup = new BetterSqlite3(path);
  setup.pragma('journal_mode = WAL');
  setup.exec(`
    create table t (id integer primary key, v text not null);
    create table parent (id integer primary key);
    create table child (id integer primary key, parent_id integer not null references parent (id) deferrable initially deferred);
  `);
  setup.close();
  const outside = new BetterSqlite3(path);
  outside.pragma('busy_timeout = 5000');
  return { path, outside };
}

/** Opens the group-commit dialect the way openSqlite does, with a COMMIT log. */
function openGroupCommit(path: string, options: Partial<GroupCommitOptions> = {}, busyTimeoutMs = 5000) {
  const database = new BetterSqlite3(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma(`busy_timeout = ${busyTimeoutMs}`);
  database.pragma('foreign_keys = ON');
  const reader = new BetterSqlite3(path);
  reader.pragma('query_only = ON');
  const commits: GroupCommitEvent[] = [];
  const db = new Kysely<TestTables>({
    // No time bound unless a test sets one: the batches here must not depend on how loaded the machine is.
    dialect: new SqliteGroupCommitDialect({ database, reader, maxHoldMs: 60_000, onCommit: (event) => commits.push(event), ...options }),
  });
  return { db, database, commits };
}

/**
 * COMMITs as SQLite wrote them: the frames of the -wal file that end a transaction
 * (a non-zero "database size after commit"), of the WAL's current generation. Counts
 * what reached the file, independently of the driver's own bookkeeping.
 */
function walCommits(path: string): number {
  const wal = `${path}-wal`;
  if (!existsSync(wal)) return 0;
  const bytes = readFileSync(wal);
  if (bytes.length < 32) return 0;
  const pageSize = bytes.readUInt32BE(8);
  const salt1 = bytes.readUInt32BE(16);
  const salt2 = bytes.readUInt32BE(20);
  let commits = 0;
  for (let at = 32; at + 24 + pageSize <= bytes.length; at += 24 + pageSize) {
    if (bytes.readUInt32BE(at + 8) !== salt1 || bytes.readUInt32BE(at + 12) !== salt2) break;
    if (bytes.readUInt32BE(at + 4) !== 0) commits += 1;
  }
  return commits;
}

function countOutside(outside: BetterSqlite3.Database, table = 't'): number {
  return (outside.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
}

const ids = (n: number, from = 1) => Array.from({ length: n }, (_, i) => from + i);

describe('SQLite group commit', () => {
  it('gives concurrent transactions one COMMIT between them (one COMMIT each with it off)', async () => {
    const { path, outside } = prepareFile();
    const { db, commits } = openGroupCommit(path);
    const before = walCommits(path);
    await Promise.all(
      ids(20).map((id) =>
        db.transaction().execute(async (trx) => {
          await trx.insertInto('t').values({ id, v: 'a' }).execute();
          await trx.updateTable('t').set({ v: 'b' }).where('id', '=', id).execute();
        }),
      ),
    );
    assert.deepEqual(commits, [{ transactions: 20 }]);
    assert.equal(walCommits(path) - before, 1, 'one commit record in the WAL for 20 transactions');
    assert.equal(countOutside(outside), 20);
    await db.destroy();

    // The same with Kysely's own driver: the WAL count is a real count.
    const plain = new BetterSqlite3(path);
    const kysely = new Kysely<TestTables>({ dialect: new SqliteDialect({ database: plain }) });
    const start = walCommits(path);
    await Promise.all(
      ids(20, 100).map((id) => kysely.transaction().execute((trx) => trx.insertInto('t').values({ id, v: 'a' }).execute())),
    );
    assert.equal(walCommits(path) - start, 20);
    await kysely.destroy();

    // And through openSqlite: on by default (a batch may be cut by its time bound on a loaded machine), off when asked.
    const viaOpenSqlite = async (groupCommit: boolean, from: number) => {
      const dialect = openSqlite(path, 'full', groupCommit);
      const db2 = dialect.db as unknown as Kysely<TestTables>;
      await sql`select 1`.execute(db2);
      const start = walCommits(path);
      await Promise.all(
        ids(10, from).map((id) => db2.transaction().execute((trx) => trx.insertInto('t').values({ id, v: 'c' }).execute())),
      );
      const made = walCommits(path) - start;
      await dialect.close();
      return made;
    };
    assert.ok((await viaOpenSqlite(true, 200)) <= 2, 'on by default');
    assert.equal(await viaOpenSqlite(false, 300), 10, 'off');
    outside.close();
  });

  it('resolves no transaction before its COMMIT: another connection sees nothing until then, everything after', async () => {
    const { path, outside } = prepareFile();
    const { db } = openGroupCommit(path);
    const seenInside: number[] = [];
    const seenAtResolve: number[] = [];
    await Promise.all(
      ids(8).map((id) =>
        db
          .transaction()
          .execute(async (trx) => {
            await trx.insertInto('t').values({ id, v: 'x' }).execute();
            seenInside.push(countOutside(outside));
          })
          .then(() => seenAtResolve.push(countOutside(outside))),
      ),
    );
    assert.deepEqual(seenInside, [0, 0, 0, 0, 0, 0, 0, 0], 'nothing committed while the batch is open');
    assert.deepEqual(seenAtResolve, [8, 8, 8, 8, 8, 8, 8, 8], 'each answer comes after the COMMIT that holds all of them');
    await db.destroy();
    outside.close();
  });

  it('rolls back only the transaction that fails; the others commit together', async () => {
    const { path, outside } = prepareFile();
    const { db, commits } = openGroupCommit(path);
    const boom = new Error('changed my mind');
    const outcomes = await Promise.allSettled([
      db.transaction().execute((trx) => trx.insertInto('t').values({ id: 1, v: 'a' }).execute()),
      db.transaction().execute(async (trx) => {
        await trx.insertInto('t').values({ id: 2, v: 'b' }).execute();
        throw boom;
      }),
      db.transaction().execute((trx) => trx.insertInto('t').values({ id: 3, v: 'c' }).execute()),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal((outcomes[1] as PromiseRejectedResult).reason, boom);
    assert.deepEqual(outside.prepare('select id from t order by id').pluck().all(), [1, 3]);
    assert.deepEqual(commits, [{ transactions: 2 }]);
    await db.destroy();
    outside.close();
  });

  it("answers a transaction that failed on a member's uncommitted row only after that row is committed", async () => {
    const { path, outside } = prepareFile();
    const { db } = openGroupCommit(path);
    let visibleWhenRejected = -1;
    const outcomes = await Promise.allSettled([
      db.transaction().execute((trx) => trx.insertInto('t').values({ id: 1, v: 'first' }).execute()),
      db
        .transaction()
        .execute((trx) => trx.insertInto('t').values({ id: 1, v: 'second' }).execute())
        .catch((error: unknown) => {
          visibleWhenRejected = countOutside(outside);
          throw error;
        }),
    ]);
    assert.equal(outcomes[0].status, 'fulfilled');
    assert.equal(outcomes[1].status, 'rejected');
    assert.equal(classifySqliteError((outcomes[1] as PromiseRejectedResult).reason), 'unique_violation');
    assert.equal(visibleWhenRejected, 1, 'the conflict is reported once the row it conflicts with is durable');
    await db.destroy();
    outside.close();
  });

  it('fails every member when the COMMIT fails, and goes on afterwards', async () => {
    const { path, outside } = prepareFile();
    const { db, commits } = openGroupCommit(path);
    outside.exec('insert into parent (id) values (1)');
    // A deferred foreign key is checked at COMMIT: the one real way to make a COMMIT fail on demand.
    const outcomes = await Promise.allSettled([
      db.transaction().execute((trx) => trx.insertInto('t').values({ id: 1, v: 'innocent' }).execute()),
      db.transaction().execute((trx) => trx.insertInto('child').values({ id: 1, parent_id: 999 }).execute()),
      db.transaction().execute((trx) => trx.insertInto('child').values({ id: 2, parent_id: 1 }).execute()),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['rejected', 'rejected', 'rejected'],
    );
    for (const outcome of outcomes)
      assert.equal(((outcome as PromiseRejectedResult).reason as { code?: string }).code, 'SQLITE_CONSTRAINT_FOREIGNKEY');
    assert.equal(commits.length, 1);
    assert.equal(commits[0]!.transactions, 3);
    assert.ok(commits[0]!.error);
    assert.equal(countOutside(outside), 0);
    assert.equal(countOutside(outside, 'child'), 0);

    await db.transaction().execute((trx) => trx.insertInto('t').values({ id: 5, v: 'later' }).execute());
    assert.equal(countOutside(outside), 1);
    await db.destroy();
    outside.close();
  });

  it('never reports a member committed whose rows SQLite dropped (an error that ends the whole transaction)', async () => {
    const { path, outside } = prepareFile();
    const { db, database } = openGroupCommit(path);
    // A full disk, on demand: the file may not grow past its current size.
    const pages = database.pragma('page_count', { simple: true }) as number;
    database.pragma(`max_page_count = ${pages + 2}`);
    const outcomes = await Promise.allSettled([
      db.transaction().execute((trx) => trx.insertInto('t').values({ id: 1, v: 'small' }).execute()),
      db.transaction().execute((trx) =>
        trx
          .insertInto('t')
          .values({ id: 2, v: 'x'.repeat(200_000) })
          .execute(),
      ),
      db.transaction().execute((trx) => trx.insertInto('t').values({ id: 3, v: 'small' }).execute()),
    ]);
    assert.equal(outcomes[1].status, 'rejected');
    assert.equal(((outcomes[1] as PromiseRejectedResult).reason as { code?: string }).code, 'SQLITE_FULL');
    const stored = new Set(outside.prepare('select id from t').pluck().all() as number[]);
    for (const [i, id] of [
      [0, 1],
      [2, 3],
    ] as const) {
      assert.equal(outcomes[i].status === 'fulfilled', stored.has(id), `transaction ${id}: answered ok exactly when its row is stored`);
    }
    assert.ok(!stored.has(2));
    // SQLite (as bundled) ends the whole transaction on SQLITE_FULL: the member committed before it in the batch fails too.
    assert.equal(((outcomes[0] as PromiseRejectedResult).reason as { code?: string }).code, 'SQLITE_FULL');
    database.pragma('max_page_count = 1073741823');
    await db.transaction().execute((trx) => trx.insertInto('t').values({ id: 9, v: 'after' }).execute());
    assert.ok(outside.prepare('select id from t where id = 9').get());
    await db.destroy();
    outside.close();
  });

  it('commits a pending batch on close: every transaction started before it is answered and stored', async () => {
    const { path, outside } = prepareFile();
    outside.close();
    const { db } = openGroupCommit(path);
    const pending = ids(25).map((id) => db.transaction().execute((trx) => trx.insertInto('t').values({ id, v: 'kept' }).execute()));
    const alone = db.insertInto('t').values({ id: 100, v: 'kept' }).execute();
    await db.destroy();
    await Promise.all([...pending, alone]);
    const reopened = new BetterSqlite3(path);
    assert.equal(countOutside(reopened), 26);
    reopened.close();
  });

  it('on close, waits for a transaction still open in the batch, then commits the batch', async () => {
    const { path, outside } = prepareFile();
    outside.close();
    const { db, commits } = openGroupCommit(path);
    await sql`select 1`.execute(db);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const quick = db.transaction().execute((trx) => trx.insertInto('t').values({ id: 1, v: 'quick' }).execute());
    const slow = db.transaction().execute(async (trx) => {
      await trx.insertInto('t').values({ id: 2, v: 'slow' }).execute();
      await gate;
    });
    const closed = db.destroy();
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.deepEqual(commits, [], 'the batch is still open, held by the slow transaction');
    release();
    await closed;
    await Promise.all([quick, slow]);
    assert.deepEqual(commits, [{ transactions: 2 }]);
    const reopened = new BetterSqlite3(path);
    assert.equal(countOutside(reopened), 2);
    reopened.close();
  });

  it('commits the batch before the database is closed through openSqlite, too', async () => {
    const path = tempFile();
    const dialect = openSqlite(path);
    await sql`create table t (id integer primary key, v text not null)`.execute(dialect.db);
    const db = dialect.db as unknown as Kysely<TestTables>;
    const pending = ids(10).map((id) => db.transaction().execute((trx) => trx.insertInto('t').values({ id, v: 'kept' }).execute()));
    await dialect.close();
    await Promise.all(pending);
    const reopened = new BetterSqlite3(path);
    assert.equal(countOutside(reopened), 10);
    reopened.close();
  });

  it('runs a write outside a transaction in the open batch, answers it after the shared COMMIT, and keeps its errors', async () => {
    const { path, outside } = prepareFile();
    const { db, commits } = openGroupCommit(path);
    let seenByInsert = -1;
    const [, inserted, updated, conflict] = await Promise.allSettled([
      db.transaction().execute((trx) => trx.insertInto('t').values({ id: 1, v: 'in a transaction' }).execute()),
      db
        .insertInto('t')
        .values({ id: 2, v: 'alone' })
        .returning('id')
        .execute()
        .then((rows) => {
          seenByInsert = countOutside(outside);
          return rows;
        }),
      db.updateTable('t').set({ v: 'changed' }).where('id', '=', 2).executeTakeFirst(),
      db.insertInto('t').values({ id: 2, v: 'again' }).execute(),
    ]);
    assert.deepEqual((inserted as PromiseFulfilledResult<unknown>).value, [{ id: 2 }]);
    assert.equal(seenByInsert, 2, 'the insert is answered after the COMMIT it shares with the transaction');
    assert.equal((updated as PromiseFulfilledResult<{ numUpdatedRows: bigint }>).value.numUpdatedRows, 1n);
    assert.equal(classifySqliteError((conflict as PromiseRejectedResult).reason), 'unique_violation');
    assert.deepEqual(commits.slice(0, 1), [{ transactions: 2 }], 'the transaction and the insert share one COMMIT');
    assert.equal(outside.prepare('select v from t where id = 2').pluck().get(), 'changed');
    await db.destroy();
    outside.close();
  });

  it('commits the batch before a statement that must not run inside it (DDL, PRAGMA)', async () => {
    const { path, outside } = prepareFile();
    const { db, commits } = openGroupCommit(path);
    const batch = db.transaction().execute((trx) => trx.insertInto('t').values({ id: 1, v: 'a' }).execute());
    // Runs once the transaction has handed the connection on: the batch is open, not yet committed.
    const pragma = sql`pragma foreign_keys = off`.execute(db);
    const ddl = sql`create table later (id integer primary key)`.execute(db);
    await Promise.all([batch, pragma, ddl]);
    assert.deepEqual(commits, [{ transactions: 1 }]);
    // The PRAGMA took effect: inside a transaction it would have been a no-op.
    const { rows } = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db);
    assert.equal(rows[0]!.foreign_keys, 0);
    assert.ok(outside.prepare(`select name from sqlite_master where name = 'later'`).get());
    await db.destroy();
    outside.close();
  });

  it("reads outside a transaction see committed data only, and a caller's own answered writes always", async () => {
    const { path, outside } = prepareFile();
    outside.close();
    const { db } = openGroupCommit(path);
    let readDuringBatch: unknown[] = ['not read'];
    const write = db.transaction().execute((trx) => trx.insertInto('t').values({ id: 1, v: 'pending' }).execute());
    const read = db
      .selectFrom('t')
      .select('id')
      .execute()
      .then((rows) => {
        readDuringBatch = rows;
      });
    await Promise.all([write, read]);
    assert.deepEqual(readDuringBatch, [], 'the batch was not committed yet when the read ran');
    assert.deepEqual(await db.selectFrom('t').select('id').execute(), [{ id: 1 }]);
    // Reads inside a transaction see the batch, including other members' writes.
    const [, seen] = await Promise.all([
      db.transaction().execute((trx) => trx.insertInto('t').values({ id: 2, v: 'pending' }).execute()),
      db.transaction().execute((trx) => trx.selectFrom('t').select('id').orderBy('id').execute()),
    ]);
    assert.deepEqual(seen, [{ id: 1 }, { id: 2 }]);
    await db.destroy();
  });

  it('bounds a batch by its number of transactions', async () => {
    const { path, outside } = prepareFile();
    outside.close();
    const { db, commits } = openGroupCommit(path, { maxTransactions: 5 });
    await Promise.all(ids(12).map((id) => db.transaction().execute((trx) => trx.insertInto('t').values({ id, v: 'a' }).execute())));
    assert.deepEqual(
      commits.map((c) => c.transactions),
      [5, 5, 2],
    );
    await db.destroy();
  });

  it('bounds a batch by the time it has been open, at the end of a transaction', async () => {
    const { path, outside } = prepareFile();
    outside.close();
    const { db, commits } = openGroupCommit(path, { maxHoldMs: 0 });
    await Promise.all(ids(4).map((id) => db.transaction().execute((trx) => trx.insertInto('t').values({ id, v: 'a' }).execute())));
    assert.deepEqual(
      commits.map((c) => c.transactions),
      [1, 1, 1, 1],
    );
    await db.destroy();
  });

  it('commits at the end of the turn while a transaction holds the connection across turns, and waits for it', async () => {
    const { path, outside } = prepareFile();
    const { db, commits } = openGroupCommit(path);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = db.transaction().execute((trx) => trx.insertInto('t').values({ id: 1, v: 'quick' }).execute());
    const slow = db.transaction().execute(async (trx) => {
      await trx.insertInto('t').values({ id: 2, v: 'slow' }).execute();
      await gate;
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(countOutside(outside), 0, 'the batch waits for the transaction open in it');
    release();
    await Promise.all([first, slow]);
    assert.deepEqual(commits, [{ transactions: 2 }]);
    await db.destroy();
    outside.close();
  });

  it("keeps Kysely's controlled transactions, savepoints and connection scopes working", async () => {
    const { path, outside } = prepareFile();
    const { db } = openGroupCommit(path);
    const trx = await db.startTransaction().execute();
    await trx.insertInto('t').values({ id: 1, v: 'kept' }).execute();
    const point = await trx.savepoint('maybe').execute();
    await point.insertInto('t').values({ id: 2, v: 'undone' }).execute();
    await point.rollbackToSavepoint('maybe').execute();
    await point.releaseSavepoint('maybe').execute();
    await trx.commit().execute();
    assert.deepEqual(outside.prepare('select id from t').pluck().all(), [1]);

    const rolledBack = await db.startTransaction().execute();
    await rolledBack.insertInto('t').values({ id: 3, v: 'undone' }).execute();
    await rolledBack.rollback().execute();

    // A connection scope that runs a transaction and then goes on using its connection.
    const other = db.transaction().execute((t) => t.insertInto('t').values({ id: 4, v: 'meanwhile' }).execute());
    const count = await db.connection().execute(async (connection) => {
      await connection.transaction().execute((t) => t.insertInto('t').values({ id: 5, v: 'scoped' }).execute());
      return (
        await connection
          .selectFrom('t')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n;
    });
    await other;
    assert.equal(count, 3);
    assert.deepEqual(outside.prepare('select id from t order by id').pluck().all(), [1, 4, 5]);
    await db.destroy();
    outside.close();
  });

  it('runs a read-only transaction on a snapshot of committed data, without taking the write lock', async () => {
    const { path, outside } = prepareFile();
    const { db } = openGroupCommit(path, {}, 50);
    outside.exec(`insert into t (id, v) values (1, 'before')`);
    const counts = await db
      .transaction()
      .setAccessMode('read only')
      .execute(async (trx) => {
        const first = (await trx.selectFrom('t').selectAll().execute()).length;
        // Another process writes meanwhile: no SQLITE_BUSY, since this transaction holds no write lock.
        outside.exec(`begin immediate; insert into t (id, v) values (2, 'during'); commit`);
        const second = (await trx.selectFrom('t').selectAll().execute()).length;
        const write = await trx
          .insertInto('t')
          .values({ id: 3, v: 'not here' })
          .execute()
          .then(
            () => 'written',
            (error: { code?: string }) => error.code,
          );
        return { first, second, write };
      });
    assert.deepEqual(counts, { first: 1, second: 1, write: 'SQLITE_READONLY' });
    assert.equal((await db.selectFrom('t').selectAll().execute()).length, 2);
    await db.destroy();
    outside.close();
  });

  it('reports another process holding the write lock as SQLITE_BUSY (unavailable), as before', async () => {
    const { path, outside } = prepareFile();
    const { db } = openGroupCommit(path, {}, 50);
    outside.exec('begin immediate');
    const error = await db
      .transaction()
      .execute((trx) => trx.insertInto('t').values({ id: 1, v: 'a' }).execute())
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.equal(classifySqliteError(error), 'unavailable');
    outside.exec('commit');
    await db.transaction().execute((trx) => trx.insertInto('t').values({ id: 1, v: 'a' }).execute());
    assert.equal(countOutside(outside), 1);
    await db.destroy();
    outside.close();
  });

  it("moves the external change version for other connections' commits, not for its own", async () => {
    const path = tempFile();
    const dialect = openSqlite(path);
    await sql`create table t (id integer primary key, v text not null)`.execute(dialect.db);
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    await turn();
    const start = dialect.externalChangeVersion();
    const db = dialect.db as unknown as Kysely<TestTables>;
    await Promise.all(ids(3).map((id) => db.transaction().execute((trx) => trx.insertInto('t').values({ id, v: 'own' }).execute())));
    await turn();
    assert.equal(dialect.externalChangeVersion(), start);
    const outside = new BetterSqlite3(path);
    outside.exec(`insert into t (id, v) values (10, 'theirs')`);
    outside.close();
    await turn();
    assert.notEqual(dialect.externalChangeVersion(), start);
    await dialect.close();
  });
});

describe('SqlSessionStore on group commit', () => {
  const DAY = 86_400_000;

  async function withSession() {
    const dataPath = tempFile();
    const storage = openStorage({ kind: 'sqlite', path: dataPath });
    await storage.migrate();
    const now = Date.now();
    const user = await storage.users.create(
      { username: 'alice', usernameKey: 'alice', email: null, fullName: null, passwordHash: 'x', disabled: false, scopes: [] },
      now,
    );
    const session: Session = {
      id: randomUUID(),
      userId: user.id,
      clientId: null,
      scopes: [],
      createdAt: now,
      lastUsedAt: now,
      idleExpiresAt: now + DAY,
      expiresAt: now + 30 * DAY,
      ip: null,
      userAgent: null,
      revokedAt: null,
      revokedReason: null,
    };
    await storage.sessions.create(session, { id: 'tok-0', secretHash: 'h0' }, openingEventOf(session));
    return { storage, session, now, path: dataPath };
  }

  it('lets exactly one of concurrent rotations of one refresh token win, and stores what it answered', async () => {
    const { storage, session, now } = await withSession();
    for (let round = 0; round < 5; round++) {
      const old = `tok-${round}`;
      const results = await Promise.all(
        ids(6).map((i) =>
          storage.sessions.rotate({
            oldId: old,
            sessionId: session.id,
            next: { id: `cand-${round}-${i}`, secretHash: `h-${round}-${i}` },
            successorSealed: 'sealed',
            nowMs: now,
            idleExpiresAt: now + DAY,
          }),
        ),
      );
      assert.equal(results.filter(Boolean).length, 1, `round ${round}: one winner`);
      const winner = results.indexOf(true) + 1;
      const retired = await storage.sessions.findRefreshToken(old);
      assert.equal(retired?.successorId, `cand-${round}-${winner}`);
      // Continue the chain from the winner under the next round's name.
      await storage.sessions.rotate({
        oldId: `cand-${round}-${winner}`,
        sessionId: session.id,
        next: { id: `tok-${round + 1}`, secretHash: 'h' },
        successorSealed: 'sealed',
        nowMs: now,
        idleExpiresAt: now + DAY,
      });
    }
    const live = await sql<{ n: number }>`select count(*) as n from refresh_tokens where rotated_at is null`.execute(storage.dialect.db);
    assert.equal(live.rows[0]!.n, 1, 'one live refresh token in the session');
    await storage.close();
  });

  it('stores every rotation of many sessions rotating at once, when closed right after', async () => {
    const { storage, session, now, path } = await withSession();
    const sessions = [session];
    for (let i = 1; i < 30; i++) {
      const another = { ...session, id: randomUUID() };
      await storage.sessions.create(another, { id: `tok-0-${i}`, secretHash: 'h' }, openingEventOf(another));
      sessions.push(another);
    }
    const rotations = sessions.map((s, i) =>
      storage.sessions.rotate({
        oldId: i === 0 ? 'tok-0' : `tok-0-${i}`,
        sessionId: s.id,
        next: { id: `next-${i}`, secretHash: 'h' },
        successorSealed: 'sealed',
        nowMs: now,
        idleExpiresAt: now + DAY,
      }),
    );
    await storage.close();
    assert.deepEqual(
      await Promise.all(rotations),
      sessions.map(() => true),
    );
    const reopened = new BetterSqlite3(path);
    assert.equal(
      (reopened.prepare(`select count(*) as n from refresh_tokens where id like 'next-%' and rotated_at is null`).get() as { n: number }).n,
      30,
    );
    reopened.close();
  });
});
