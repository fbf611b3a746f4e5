/** The change bus against the real PostgreSQL (skips, saying why, when it is absent; required under CI=true). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { Change } from '../../core/change-bus.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../../../test/helpers/postgres.js';
import { openPostgres } from './dialects/postgres.js';
import { PostgresChangeBus } from './postgres-change-bus.js';
import type { SqlDialect } from './dialects/dialect.js';

const POOL = { max: 2, connectTimeoutMs: 1000, statementTimeoutMs: 2000, idleTimeoutMs: 10_000 };

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const skip = await postgresSkipReason();

describe('PostgresChangeBus', { skip }, () => {
  let database: TestDatabase;
  let dialect: SqlDialect;
  let a: PostgresChangeBus;
  let b: PostgresChangeBus;
  const heardByB: Change[] = [];
  const heardByA: Change[] = [];

  before(async () => {
    database = await createTestDatabase();
    dialect = openPostgres(database.url, POOL);
    a = new PostgresChangeBus(dialect.db, { url: database.url, connectTimeoutMs: 1000 });
    b = new PostgresChangeBus(dialect.db, { url: database.url, connectTimeoutMs: 1000 });
    assert.equal(b.version(), undefined, 'cannot tell before it listens');
    a.subscribe((change) => {
      heardByA.push(change);
    });
    b.subscribe((change) => {
      heardByB.push(change);
    });
    await until(() => a.version() !== undefined && b.version() !== undefined, 'both listening');
  });
  after(async () => {
    await a.close();
    await b.close();
    await dialect.close();
    await database.drop();
  });

  it("delivers one process's changes to the others, not back to itself", async () => {
    a.publish({ kind: 'session', id: 's1' });
    a.publish({ kind: 'keys' });
    await until(() => heardByB.length === 2, 'B hears both');
    // Two publishes may travel over two pool connections: they arrive in either order.
    assert.deepEqual(
      new Set(heardByB.map((change) => JSON.stringify(change))),
      new Set([JSON.stringify({ kind: 'session', id: 's1' }), JSON.stringify({ kind: 'keys' })]),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(heardByA, [], 'A does not hear itself');
  });

  it('confirms a change to its sender only once what the listeners started for it has settled', async () => {
    let release = () => {};
    const reloading = new Promise<void>((resolve) => (release = resolve));
    let heard = 0;
    const c = new PostgresChangeBus(dialect.db, { url: database.url, connectTimeoutMs: 1000 });
    c.subscribe((change) => {
      if (change.kind !== 'keys') return undefined;
      heard += 1;
      return reloading;
    });
    try {
      await until(() => c.version() !== undefined, 'C listening');
      await a.confirm(10_000); // what the test before published
      assert.deepEqual(await a.confirm(10_000), { listening: 0, confirmed: 0 }, 'nothing published since: nothing to wait for');

      a.publish({ kind: 'keys' });
      const pending = await a.confirm(500);
      assert.equal(heard, 1, 'C heard the change');
      assert.deepEqual(pending, { listening: 2, confirmed: 1 }, 'B confirmed; C is still reloading');

      release();
      a.publish({ kind: 'keys' });
      assert.deepEqual(await a.confirm(10_000), { listening: 2, confirmed: 2 }, 'both, once the reload settled');
      assert.equal(heard, 2);
    } finally {
      await c.close();
    }
  });

  it('cannot tell while its listener is gone, and comes back in a new epoch by itself', async () => {
    const before = b.version()!;
    // What a PostgreSQL restart does to a connection: the server ends it.
    await sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'portcullis-changes' and datname = current_database()`.execute(
      dialect.db,
    );
    await until(() => b.version() === undefined, 'B notices the loss');
    await until(() => (b.version() ?? -1) > before, 'B listens again, in a later epoch');
    heardByB.length = 0;
    a.publish({ kind: 'user', id: 'u1' });
    await until(() => heardByB.length === 1, 'B hears again');
  });
});
