/**
 * guardDriverErrors on every test database: a unique violation becomes a conflict (409) only on the
 * column the operation names; any other (a duplicate id, an audit event recorded twice) surfaces as
 * the driver raised it, so it is logged as the bug it is, not answered as "username taken".
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClientNameTakenError, UsernameTakenError } from '../../core/errors.js';
import { testDialects, type MigratedDatabase } from '../../../test/helpers/sql-dialects.js';
import { SqlAuditStore } from './audit-store.js';
import { SqlUserStore } from './user-store.js';
import { guardDriverErrors, violatedColumns } from './driver-errors.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const user = (key: string) => ({
  username: key,
  usernameKey: key,
  email: null,
  fullName: null,
  passwordHash: `hash-of-${key}`,
  disabled: false,
  scopes: [],
});

for (const { name, skip, open } of await testDialects()) {
  describe(`guardDriverErrors on ${name}`, { skip: skip ?? false }, () => {
    let database: MigratedDatabase;
    before(async () => {
      database = await open();
    });
    after(async () => {
      await database?.close();
    });

    it('reports a taken username as UsernameTakenError, naming users.username_key', async () => {
      const store = new SqlUserStore(database.dialect);
      await store.create(user('alice'), T0);
      await assert.rejects(store.create(user('alice'), T0), (error: unknown) => {
        assert.ok(error instanceof UsernameTakenError);
        assert.deepEqual(violatedColumns(error.cause), ['users.username_key']);
        return true;
      });
    });

    it('lets a duplicate id through as the driver error, not as a taken username or client name', async () => {
      const store = new SqlUserStore(database.dialect);
      const bob = await store.create(user('bob'), T0);
      const { db } = database.dialect;
      const row = await db.selectFrom('users').selectAll().where('id', '=', bob.id).executeTakeFirstOrThrow();
      for (const conflict of ['username', 'client_name'] as const) {
        await assert.rejects(
          guardDriverErrors(
            database.dialect,
            () =>
              db
                .insertInto('users')
                .values({ ...row, username: 'carol', username_key: 'carol' })
                .execute(),
            conflict,
          ),
          (error: unknown) => {
            assert.ok(!(error instanceof UsernameTakenError) && !(error instanceof ClientNameTakenError), String(error));
            assert.equal(database.dialect.classifyError(error), 'unique_violation');
            assert.deepEqual(violatedColumns(error), ['users.id']);
            return true;
          },
        );
      }
    });

    it('lets an audit event recorded twice through as the driver error', async () => {
      const store = new SqlAuditStore(database.dialect);
      const event = { id: `${String(T0).padStart(15, '0')}-0000000001`, at: T0, type: 'login.success', outcome: 'success' } as const;
      await store.record(event);
      await assert.rejects(store.record(event), (error: unknown) => {
        assert.ok(!(error instanceof UsernameTakenError), String(error));
        assert.equal(database.dialect.classifyError(error), 'unique_violation');
        return true;
      });
    });
  });
}
