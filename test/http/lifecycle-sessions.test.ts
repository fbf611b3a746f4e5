/**
 * Sessions end to end over real HTTP and a real SQLite file: listing and
 * ending one's logins, logout (local and global), changing one's password,
 * and what the audit log keeps of it all.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, formPost, startTestServer, type TestServer } from '../helpers/server.js';
import {
  assertAccessRefused,
  assertRefreshRefused,
  errorOf,
  meStatus,
  passwordLogin,
  refreshOk,
  sessionIdOf,
  sessionRow,
} from '../helpers/lifecycle.js';

interface PublicSession {
  id: string;
  ip: string | null;
  user_agent: string | null;
  scope: string;
  current: boolean;
  idle_expires_at: string;
}

async function listSessions(server: TestServer, accessToken: string): Promise<PublicSession[]> {
  const response = await server.fetch('/users/me/sessions', { headers: bearer(accessToken) });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('cache-control'), 'no-store');
  return (await response.json()) as PublicSession[];
}

function deleteSession(server: TestServer, accessToken: string, id: string): Promise<Response> {
  return server.fetch(`/users/me/sessions/${encodeURIComponent(id)}`, { method: 'DELETE', headers: bearer(accessToken) });
}

function logout(server: TestServer, accessToken: string, query = ''): Promise<Response> {
  return server.fetch(`/logout${query}`, { method: 'POST', headers: bearer(accessToken) });
}

function changePassword(server: TestServer, accessToken: string, current: string, next: string): Promise<Response> {
  return server.fetch('/users/me/password', {
    method: 'PUT',
    headers: { ...bearer(accessToken), 'content-type': 'application/json' },
    body: JSON.stringify({ current_password: current, new_password: next }),
  });
}

describe('GET and DELETE /users/me/sessions', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    for (const name of ['sara', 'otto']) {
      await server.portcullis.users.create({ username: name, password: `${name}-password-1`, scopes: ['me', 'items'] });
    }
  });
  after(() => server.stop());

  it('lists this login as current and the others with the IP and User-Agent they sent', async () => {
    const laptop = await passwordLogin(server, 'sara', 'sara-password-1', { userAgent: 'LaptopBrowser/1.0' });
    const phone = await passwordLogin(server, 'sara', 'sara-password-1', { userAgent: 'PhoneApp/2.0', scope: 'me' });
    await passwordLogin(server, 'otto', 'otto-password-1', { userAgent: 'OttoAgent/1.0' });

    const sessions = await listSessions(server, laptop.access_token);
    assert.equal(sessions.length, 2, 'only sara’s sessions');
    const mine = sessions.find((session) => session.id === sessionIdOf(laptop.access_token));
    const theirs = sessions.find((session) => session.id === sessionIdOf(phone.access_token));
    assert.ok(mine && theirs);
    assert.equal(mine.current, true);
    assert.equal(theirs.current, false);
    assert.equal(mine.user_agent, 'LaptopBrowser/1.0');
    assert.equal(theirs.user_agent, 'PhoneApp/2.0');
    assert.equal(mine.ip, '127.0.0.1');
    assert.equal(mine.scope, 'me items');
    assert.equal(theirs.scope, 'me');
    const text = JSON.stringify(sessions);
    for (const secret of [laptop.refresh_token, phone.refresh_token]) assert.ok(!text.includes(secret.split('.')[1]!));
    // From the phone's view, the phone is current.
    const fromPhone = await listSessions(server, phone.access_token);
    assert.equal(fromPhone.find((session) => session.current)?.id, theirs.id);
  });

  it('ends another session at once with DELETE, and answers 404 for unknown, ended or foreign ids', async () => {
    const keep = await passwordLogin(server, 'sara', 'sara-password-1');
    const end = await passwordLogin(server, 'sara', 'sara-password-1');
    const foreign = await passwordLogin(server, 'otto', 'otto-password-1');
    const endId = sessionIdOf(end.access_token);
    assert.equal(await meStatus(server, end.access_token), 200, 'cached as live first');

    const deleted = await deleteSession(server, keep.access_token, endId);
    assert.equal(deleted.status, 204);
    await assertAccessRefused(server, end.access_token, 'deleted session');
    await assertRefreshRefused(server, end.refresh_token, 'deleted session');
    assert.equal(await meStatus(server, keep.access_token), 200);
    assert.ok(!(await listSessions(server, keep.access_token)).some((session) => session.id === endId));
    assert.equal((await sessionRow(server, endId)).revoked_reason, 'revoked_by_user');

    for (const [label, id] of [
      ['already ended', endId],
      ['unknown', 'AAAAAAAAAAAAAAAAAAAAAA'],
      ['another user’s', sessionIdOf(foreign.access_token)],
    ] as const) {
      const { status, body } = await errorOf(await deleteSession(server, keep.access_token, id));
      assert.equal(status, 404, label);
      assert.equal(body.detail, 'No such session', label);
    }
    assert.equal(await meStatus(server, foreign.access_token), 200, 'another user’s session is untouched');
  });

  it('needs a user token', async () => {
    const response = await server.fetch('/users/me/sessions');
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('www-authenticate'), 'Bearer');
  });
});

describe('POST /logout', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    for (const name of ['lena', 'gina', 'bert']) {
      await server.portcullis.users.create({ username: name, password: `${name}-password-1` });
    }
  });
  after(() => server.stop());

  it('ends the current session only', async () => {
    const here = await passwordLogin(server, 'lena', 'lena-password-1');
    const there = await passwordLogin(server, 'lena', 'lena-password-1');
    const sibling = await refreshOk(server, here.refresh_token);
    assert.equal(await meStatus(server, here.access_token), 200);

    assert.equal((await logout(server, here.access_token)).status, 204);
    await assertAccessRefused(server, here.access_token, 'logged-out token');
    await assertAccessRefused(server, sibling.access_token, 'another access token of the same session');
    await assertRefreshRefused(server, sibling.refresh_token, 'logged-out refresh token');
    assert.equal(await meStatus(server, there.access_token), 200);
    assert.equal(await meStatus(server, (await refreshOk(server, there.refresh_token)).access_token), 200);
    assert.equal((await sessionRow(server, sessionIdOf(here.access_token))).revoked_reason, 'logout');
  });

  it('ends every session of the user with scope=global, and no one else’s', async () => {
    const logins = [];
    for (let i = 0; i < 3; i += 1) logins.push(await passwordLogin(server, 'gina', 'gina-password-1'));
    const bystander = await passwordLogin(server, 'bert', 'bert-password-1');
    for (const tokens of logins) assert.equal(await meStatus(server, tokens.access_token), 200);

    assert.equal((await logout(server, logins[1]!.access_token, '?scope=global')).status, 204);
    for (const [i, tokens] of logins.entries()) {
      await assertAccessRefused(server, tokens.access_token, `session ${i}`);
      await assertRefreshRefused(server, tokens.refresh_token, `session ${i}`);
    }
    assert.equal(await meStatus(server, bystander.access_token), 200);
  });

  it('refuses an unknown scope with 400 and logs nobody out', async () => {
    const tokens = await passwordLogin(server, 'bert', 'bert-password-1');
    for (const query of ['?scope=everything', '?scope=GLOBAL', `?scope=${'x'.repeat(40)}`]) {
      const response = await logout(server, tokens.access_token, query);
      assert.equal(response.status, 400, query);
    }
    assert.equal(await meStatus(server, tokens.access_token), 200);
    assert.equal((await logout(server, tokens.access_token, '?scope=local')).status, 204);
    await assertAccessRefused(server, tokens.access_token, 'after scope=local');
  });

  it('needs a live token', async () => {
    assert.equal((await server.fetch('/logout', { method: 'POST' })).status, 401);
  });
});

describe('PUT /users/me/password', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await server.portcullis.users.create({ username: 'paula', password: 'paula-password-1' });
  });
  after(() => server.stop());

  it('changes the password, ends the other sessions and earlier tokens, and keeps this login refreshable', async () => {
    const here = await passwordLogin(server, 'paula', 'paula-password-1');
    const there = await passwordLogin(server, 'paula', 'paula-password-1');

    const wrong = await errorOf(await changePassword(server, here.access_token, 'not-my-password', 'paula-new-secret-2'));
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.detail, 'Current password is incorrect');
    const weak = await errorOf(await changePassword(server, here.access_token, 'paula-password-1', 'password1'));
    assert.equal(weak.status, 400);
    assert.match(String(weak.body.detail), /common/);
    const short = await changePassword(server, here.access_token, 'paula-password-1', 'short');
    assert.equal(short.status, 400);
    // Nothing changed: every token works and the old password still logs in.
    assert.equal(await meStatus(server, here.access_token), 200);
    assert.equal(await meStatus(server, there.access_token), 200);
    const stillOld = await formPost(server, '/token', { username: 'paula', password: 'paula-password-1' });
    assert.equal(stillOld.status, 200);
    const third = (await stillOld.json()) as { access_token: string; refresh_token: string };

    const changed = await changePassword(server, here.access_token, 'paula-password-1', 'paula-new-secret-2');
    assert.equal(changed.status, 204);
    for (const [label, token] of [
      ['this session’s earlier token', here.access_token],
      ['another session', there.access_token],
      ['a third session', third.access_token],
    ] as const) {
      await assertAccessRefused(server, token, label);
    }
    await assertRefreshRefused(server, there.refresh_token, 'another session’s refresh token');
    await assertRefreshRefused(server, third.refresh_token, 'a third session’s refresh token');
    const renewed = await refreshOk(server, here.refresh_token);
    assert.equal(await meStatus(server, renewed.access_token), 200, 'this session lives on with a fresh token');
    const sessions = await server.fetch('/users/me/sessions', { headers: bearer(renewed.access_token) });
    assert.deepEqual(
      ((await sessions.json()) as Array<{ id: string }>).map((session) => session.id),
      [sessionIdOf(here.access_token)],
    );

    const oldLogin = await errorOf(await formPost(server, '/token', { username: 'paula', password: 'paula-password-1' }));
    assert.equal(oldLogin.status, 401);
    assert.equal(oldLogin.body.error, 'invalid_grant');
    const newLogin = await passwordLogin(server, 'paula', 'paula-new-secret-2');
    assert.equal(await meStatus(server, newLogin.access_token), 200);

    const { events } = await server.portcullis.audit.list({ limit: 50, type: 'password.changed' });
    assert.deepEqual(
      events.map((event) => [event.outcome, event.subject]),
      [
        ['success', 'paula'],
        ['failure', 'paula'],
      ],
    );
    assert.equal(events[0]!.details?.sessions_ended, 2);
  });
});

describe('the audit log of logins and sessions', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await server.portcullis.users.create({ username: 'aud', password: 'aud-password-1' });
  });
  after(() => server.stop());

  it('records login.success, login.failure and session.revoked, and never the attempted password', async () => {
    const attempts = ['Typo-Secret-4711', 'Hunter2-Unique-0815'];
    const unknown = await formPost(server, '/token', { username: 'nobody-by-that-name', password: attempts[0]! });
    assert.equal(unknown.status, 401);
    // A password typed into the username field must not end up in the log either.
    const typedIntoName = await formPost(server, '/token', { username: attempts[1]!, password: 'x' });
    assert.equal(typedIntoName.status, 401);
    const wrong = await formPost(server, '/token', { username: 'aud', password: attempts[1]! });
    assert.equal(wrong.status, 401);
    const tokens = await passwordLogin(server, 'aud', 'aud-password-1', { userAgent: 'AuditAgent/1.0' });
    const sid = sessionIdOf(tokens.access_token);
    assert.equal((await logout(server, tokens.access_token)).status, 204);

    const { events } = await server.portcullis.audit.list({ limit: 50 });
    const failures = events.filter((event) => event.type === 'login.failure');
    assert.deepEqual(failures.map((event) => [event.subject ?? null, event.details?.reason]).reverse(), [
      [null, 'unknown_user'],
      [null, 'unknown_user'],
      ['aud', 'wrong_password'],
    ]);
    assert.ok(failures.every((event) => event.outcome === 'failure' && event.ip === '127.0.0.1'));
    const success = events.find((event) => event.type === 'login.success');
    assert.equal(success?.subject, 'aud');
    assert.equal(success?.details?.session, sid);
    const revoked = events.find((event) => event.type === 'session.revoked');
    assert.equal(revoked?.subject, 'aud');
    assert.equal(revoked?.actor, 'aud');
    assert.deepEqual(revoked?.details, { session: sid, reason: 'logout' });

    const rows = await server.storage.dialect.db.selectFrom('audit_events').selectAll().execute();
    const stored = JSON.stringify(rows);
    for (const secret of [...attempts, 'aud-password-1', tokens.refresh_token.split('.')[1]!, tokens.access_token]) {
      assert.ok(!stored.includes(secret), 'a secret reached the audit log');
    }
  });
});
