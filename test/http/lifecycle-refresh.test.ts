/**
 * The refresh grant end to end over real HTTP and a real SQLite file:
 * rotation, the grace window for retries, reuse detection that ends the
 * session, concurrent refreshes, scope narrowing, errors, disabled users and
 * the sliding idle expiry.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, jsonPost, startTestServer, type TestServer } from '../helpers/server.js';
import {
  assertAccessRefused,
  assertRefreshRefused,
  claimsOf,
  errorOf,
  meStatus,
  passwordLogin,
  refresh,
  refreshOk,
  refreshTokenRows,
  sessionIdOf,
  sessionRow,
  sleep,
  type Tokens,
} from '../helpers/lifecycle.js';

async function sessionsOf(server: TestServer, accessToken: string): Promise<Array<Record<string, unknown>>> {
  const response = await server.fetch('/users/me/sessions', { headers: bearer(accessToken) });
  assert.equal(response.status, 200);
  return (await response.json()) as Array<Record<string, unknown>>;
}

describe('POST /token grant_type=refresh_token', () => {
  let server: TestServer;
  before(async () => {
    // The default grace window (10 s); the shortest idle timeout there is.
    server = await startTestServer({ SESSION_IDLE_TIMEOUT_SECONDS: '60' });
    for (const name of ['rita', 'gary', 'conny', 'scott', 'eddie', 'dora', 'ida', 'jason', 'chain']) {
      await server.portcullis.users.create({ username: name, password: `${name}-password-1`, scopes: ['me', 'items'] });
    }
  });
  after(() => server.stop());

  it('rotates: a new access token and a new refresh token, uncacheable, for the same session', async () => {
    const first = await passwordLogin(server, 'rita', 'rita-password-1');
    const response = await refresh(server, first.refresh_token);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(response.headers.get('pragma'), 'no-cache');
    const second = (await response.json()) as Tokens;
    assert.equal(second.token_type, 'bearer');
    assert.equal(second.scope, 'me items');
    assert.equal(second.expires_in, 1800);
    assert.notEqual(second.access_token, first.access_token);
    assert.notEqual(second.refresh_token, first.refresh_token);
    assert.match(second.refresh_token, /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    assert.equal(sessionIdOf(second.access_token), sessionIdOf(first.access_token));
    assert.notEqual(claimsOf(second.access_token).sub, '');

    const me = await server.fetch('/users/me', { headers: bearer(second.access_token) });
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as { username: string }).username, 'rita');

    // A JSON body with the same field names rotates again.
    const third = await jsonPost(server, '/token', { grant_type: 'refresh_token', refresh_token: second.refresh_token });
    assert.equal(third.status, 200);
    const rows = await refreshTokenRows(server, sessionIdOf(first.access_token));
    assert.equal(rows.length, 3);
    assert.equal(rows.filter((row) => row.rotated_at === null).length, 1);
    // Only hashes are stored, never the token or its secret.
    const stored = JSON.stringify(rows);
    for (const token of [first.refresh_token, second.refresh_token]) {
      assert.ok(!stored.includes(token.split('.')[1]!), 'the secret part is not stored');
    }
  });

  it('answers a retry of the retired token within the grace window with the current token, and keeps the session', async () => {
    const first = await passwordLogin(server, 'gary', 'gary-password-1');
    const sid = sessionIdOf(first.access_token);
    const rotated = await refreshOk(server, first.refresh_token);
    const retry = await refreshOk(server, first.refresh_token);
    assert.equal(retry.refresh_token, rotated.refresh_token, 'the same successor, not a new one');
    assert.equal(await meStatus(server, retry.access_token), 200);
    assert.equal(await meStatus(server, rotated.access_token), 200);
    assert.equal((await refreshTokenRows(server, sid)).length, 2, 'a retry does not rotate');
    assert.equal((await sessionRow(server, sid)).revoked_at, null);
    // The current token still rotates normally afterwards.
    const next = await refreshOk(server, rotated.refresh_token);
    assert.notEqual(next.refresh_token, rotated.refresh_token);
    assert.equal(await meStatus(server, next.access_token), 200);
  });

  it('treats a retired token whose successor was rotated too as reuse, even within the grace window', async () => {
    const first = await passwordLogin(server, 'chain', 'chain-password-1');
    const second = await refreshOk(server, first.refresh_token);
    const third = await refreshOk(server, second.refresh_token);
    await assertRefreshRefused(server, first.refresh_token, 'grandparent token');
    await assertRefreshRefused(server, third.refresh_token, 'current token after reuse');
    await assertAccessRefused(server, third.access_token, 'access token after reuse');
    assert.equal((await sessionRow(server, sessionIdOf(first.access_token))).revoked_reason, 'refresh_token_reused');
  });

  it('survives 20 concurrent refreshes of one token: no 5xx, exactly one rotation, the session alive', async () => {
    const first = await passwordLogin(server, 'conny', 'conny-password-1');
    const sid = sessionIdOf(first.access_token);
    const responses = await Promise.all(Array.from({ length: 20 }, () => refresh(server, first.refresh_token)));
    const statuses = responses.map((response) => response.status);
    assert.ok(
      statuses.every((status) => status === 200 || status === 401),
      `statuses: ${statuses.join(' ')}`,
    );
    const bodies = await Promise.all(responses.map((response) => response.json() as Promise<Tokens>));
    const issued = new Set(bodies.filter((_body, i) => statuses[i] === 200).map((body) => body.refresh_token));
    assert.ok(statuses.includes(200));
    assert.equal(issued.size, 1, 'every 200 carries the one successor');

    const rows = await refreshTokenRows(server, sid);
    assert.equal(rows.length, 2);
    assert.equal(rows.filter((row) => row.rotated_at !== null).length, 1);
    const current = rows.find((row) => row.rotated_at === null)!;
    assert.equal(current.id, [...issued][0]!.split('.')[0]);

    const session = await sessionRow(server, sid);
    assert.equal(session.revoked_at, null, 'no request was taken for reuse');
    const after = await refreshOk(server, [...issued][0]!);
    assert.equal(await meStatus(server, after.access_token), 200);
  });

  it('lets a refresh narrow the scope but never widen it beyond the original grant', async () => {
    const full = await passwordLogin(server, 'scott', 'scott-password-1');
    const narrowed = await refreshOk(server, full.refresh_token, { scope: 'items' });
    assert.equal(narrowed.scope, 'items');
    assert.equal(claimsOf(narrowed.access_token).scope, 'items');
    // Omitted scope means the original grant again (RFC 6749 §6).
    const again = await refreshOk(server, narrowed.refresh_token);
    assert.equal(again.scope, 'me items');

    const { status, body } = await errorOf(await refresh(server, again.refresh_token, { scope: 'me admin' }));
    assert.equal(status, 400);
    assert.equal(body.error, 'invalid_scope');

    // The user holds `items`, but this login was granted `me` only.
    const small = await passwordLogin(server, 'scott', 'scott-password-1', { scope: 'me' });
    const widened = await errorOf(await refresh(server, small.refresh_token, { scope: 'me items' }));
    assert.equal(widened.status, 400);
    assert.equal(widened.body.error, 'invalid_scope');
    // A refused scope neither rotates nor ends the session.
    assert.equal((await refreshOk(server, small.refresh_token)).scope, 'me');
  });

  it('refuses a garbage token, an unknown id and a wrong secret with 401 invalid_grant', async () => {
    const tokens = await passwordLogin(server, 'eddie', 'eddie-password-1');
    const [id, secret] = tokens.refresh_token.split('.') as [string, string];
    const wrongSecret = `${id}.${secret.startsWith('A') ? 'B' : 'A'}${secret.slice(1)}`;
    const unknownId = `${'A'.repeat(22)}.${secret}`;
    for (const [label, token] of [
      ['garbage', 'not-a-refresh-token'],
      ['an access token', tokens.access_token],
      ['unknown id', unknownId],
      ['wrong secret', wrongSecret],
    ] as const) {
      const reply = await assertRefreshRefused(server, token, label);
      assert.equal(reply.body.error_description, reply.body.detail, label);
      assert.ok(!JSON.stringify(reply.body).includes(secret), `${label}: no token in the error`);
    }
    // A wrong secret for a known id is not "reuse": the real token still works.
    assert.equal(await meStatus(server, (await refreshOk(server, tokens.refresh_token)).access_token), 200);
  });

  it('returns 400 invalid_request when refresh_token is missing or empty', async () => {
    for (const fields of [{}, { refresh_token: '' }] as Array<Record<string, string>>) {
      const { status, body } = await errorOf(await refresh(server, undefined, fields));
      assert.equal(status, 400, JSON.stringify(fields));
      assert.equal(body.error, 'invalid_request');
      assert.match(String(body.detail), /refresh_token/);
    }
  });

  it('cuts off a disabled user at once, for good: re-enabling does not revive the old sessions', async () => {
    const tokens = await passwordLogin(server, 'dora', 'dora-password-1');
    assert.equal(await meStatus(server, tokens.access_token), 200);
    await server.portcullis.users.setDisabled('dora', true);
    await assertAccessRefused(server, tokens.access_token, 'disabled user');
    await assertRefreshRefused(server, tokens.refresh_token, 'disabled user');
    assert.equal((await sessionRow(server, sessionIdOf(tokens.access_token))).revoked_reason, 'user_disabled');

    await server.portcullis.users.setDisabled('dora', false);
    await assertAccessRefused(server, tokens.access_token, 'old token after re-enabling');
    await assertRefreshRefused(server, tokens.refresh_token, 'old refresh token after re-enabling');
    const fresh = await passwordLogin(server, 'dora', 'dora-password-1');
    assert.equal(await meStatus(server, fresh.access_token), 200);
  });

  it('moves the idle expiry forward at each refresh', async () => {
    const first = await passwordLogin(server, 'ida', 'ida-password-1');
    const [before] = await sessionsOf(server, first.access_token);
    assert.ok(before);
    const idleBefore = Date.parse(String(before.idle_expires_at));
    assert.equal(idleBefore - Date.parse(String(before.last_used_at)), 60_000, 'SESSION_IDLE_TIMEOUT_SECONDS=60');
    await sleep(25);
    const second = await refreshOk(server, first.refresh_token);
    const [after] = await sessionsOf(server, second.access_token);
    assert.ok(after);
    assert.equal(after.id, before.id);
    const idleAfter = Date.parse(String(after.idle_expires_at));
    assert.ok(idleAfter >= idleBefore + 25, `${String(after.idle_expires_at)} after ${String(before.idle_expires_at)}`);
    assert.equal(idleAfter - Date.parse(String(after.last_used_at)), 60_000);
    assert.equal(after.expires_at, before.expires_at, 'the absolute lifetime does not slide');
  });

  it('refuses the refresh token of a session whose idle time ran out', async () => {
    const tokens = await passwordLogin(server, 'jason', 'jason-password-1');
    const sid = sessionIdOf(tokens.access_token);
    await server.storage.dialect.db
      .updateTable('sessions')
      .set({ idle_expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', sid)
      .execute();
    server.portcullis.cache.clear();
    await assertRefreshRefused(server, tokens.refresh_token, 'idle-expired session');
    await assertAccessRefused(server, tokens.access_token, 'idle-expired session');
  });
});

describe('refresh token reuse after the grace window', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ REFRESH_REUSE_GRACE_SECONDS: '1' });
    await server.portcullis.users.create({ username: 'victor', password: 'victor-password-1', scopes: ['me'] });
  });
  after(() => server.stop());

  it('refuses the retired token, revokes the session, and records refresh.reuse_detected', async () => {
    const first = await passwordLogin(server, 'victor', 'victor-password-1');
    const other = await passwordLogin(server, 'victor', 'victor-password-1');
    const sid = sessionIdOf(first.access_token);
    const current = await refreshOk(server, first.refresh_token);
    assert.equal(await meStatus(server, current.access_token), 200);
    await sleep(1200);

    const reused = await assertRefreshRefused(server, first.refresh_token, 'retired token');
    assert.doesNotMatch(JSON.stringify(reused.body), new RegExp(first.refresh_token.split('.')[1]!));
    await assertRefreshRefused(server, current.refresh_token, 'current token of the revoked session');
    await assertAccessRefused(server, current.access_token, 'live access token of the revoked session');
    await assertAccessRefused(server, first.access_token, 'first access token of the revoked session');

    const session = await sessionRow(server, sid);
    assert.notEqual(session.revoked_at, null);
    assert.equal(session.revoked_reason, 'refresh_token_reused');
    // Only that login ends: another session of the same user lives on.
    assert.equal(await meStatus(server, other.access_token), 200);
    assert.equal(await meStatus(server, (await refreshOk(server, other.refresh_token)).access_token), 200);

    const { events } = await server.portcullis.audit.list({ limit: 50 });
    const detected = events.filter((event) => event.type === 'refresh.reuse_detected');
    assert.equal(detected.length, 1);
    assert.equal(detected[0]!.subject, 'victor');
    assert.equal(detected[0]!.outcome, 'failure');
    assert.equal(detected[0]!.details?.session, sid);
    const revoked = events.find((event) => event.type === 'session.revoked' && event.details?.session === sid);
    assert.equal(revoked?.details?.reason, 'refresh_token_reused');
    assert.ok(!JSON.stringify(events).includes(first.refresh_token.split('.')[1]!), 'no token in the audit log');
  });

  it('ends the session on a replay even when the replay also asks for a wider scope', async () => {
    const first = await passwordLogin(server, 'victor', 'victor-password-1');
    const current = await refreshOk(server, first.refresh_token);
    await sleep(1200);
    const replay = await errorOf(await refresh(server, first.refresh_token, { scope: 'me admin' }));
    assert.equal(replay.status, 401);
    assert.equal(replay.body.error, 'invalid_grant');
    await assertAccessRefused(server, current.access_token, 'the session ended');
    assert.equal((await sessionRow(server, sessionIdOf(first.access_token))).revoked_reason, 'refresh_token_reused');
  });
});
