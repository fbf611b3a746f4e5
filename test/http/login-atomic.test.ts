/**
 * A login stores its session, the session's first refresh token and its `login.success` audit
 * event in one transaction (one synced commit): a failure of the audit insert leaves no session.
 * The failure is injected in the database itself (a trigger refusing login.success rows), so the
 * real server's real transaction is what is tested, on SQLite and on PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { ON_POSTGRES } from '../helpers/postgres.js';
import { formPost, signUp, startTestServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'correct horse battery';

async function count(server: TestServer, table: 'sessions' | 'refresh_tokens', where = sql`1 = 1`): Promise<number> {
  const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)} where ${where}`.execute(
    server.storage.dialect.db,
  );
  return Number(rows[0]!.n);
}

async function loginSuccessEvents(server: TestServer): Promise<number> {
  const { rows } = await sql<{ n: number | string }>`select count(*) as n from audit_events where type = 'login.success'`.execute(
    server.storage.dialect.db,
  );
  return Number(rows[0]!.n);
}

async function refuseLoginAuditEvents(server: TestServer): Promise<void> {
  const db = server.storage.dialect.db;
  if (ON_POSTGRES) {
    await sql`create function refuse_login_audit() returns trigger language plpgsql as $$
      begin
        if new.type = 'login.success' then raise exception 'injected audit failure'; end if;
        return new;
      end $$`.execute(db);
    await sql`create trigger refuse_login_audit before insert on audit_events for each row execute function refuse_login_audit()`.execute(
      db,
    );
  } else {
    await sql`create trigger refuse_login_audit before insert on audit_events when new.type = 'login.success'
      begin select raise(abort, 'injected audit failure'); end`.execute(db);
  }
}

async function allowLoginAuditEvents(server: TestServer): Promise<void> {
  const db = server.storage.dialect.db;
  await sql`drop trigger refuse_login_audit${ON_POSTGRES ? sql` on audit_events` : sql``}`.execute(db);
  if (ON_POSTGRES) await sql`drop function refuse_login_audit()`.execute(db);
}

describe('a login: session, refresh token and audit event in one transaction', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    assert.equal((await signUp(server, 'atomic', PASSWORD)).status, 201);
  });
  after(async () => {
    await server?.stop();
  });

  it('stores no session when its audit event cannot be stored, and the login fails', async () => {
    await refuseLoginAuditEvents(server);
    try {
      const response = await formPost(server, '/token', { username: 'atomic', password: PASSWORD });
      assert.equal(response.status, 500, await response.text());
      assert.equal(await count(server, 'sessions'), 0, 'no session without its audit event');
      assert.equal(await count(server, 'refresh_tokens'), 0, 'no refresh token either');
      assert.equal(await loginSuccessEvents(server), 0);
    } finally {
      await allowLoginAuditEvents(server);
    }
  });

  it('stores the session, its refresh token and one login.success event together', async () => {
    const response = await formPost(server, '/token', { username: 'atomic', password: PASSWORD });
    assert.equal(response.status, 200, await response.text());
    assert.equal(await count(server, 'sessions'), 1);
    assert.equal(await count(server, 'refresh_tokens'), 1);
    assert.equal(await loginSuccessEvents(server), 1);
    const { rows } = await sql<{ details: string }>`select details from audit_events where type = 'login.success'`.execute(
      server.storage.dialect.db,
    );
    const { rows: sessions } = await sql<{ id: string }>`select id from sessions`.execute(server.storage.dialect.db);
    assert.deepEqual(JSON.parse(rows[0]!.details), { session: sessions[0]!.id });
  });
});
