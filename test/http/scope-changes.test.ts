/**
 * A scope taken from an account is taken from its live tokens at once, over
 * real HTTP against a real database: the admin routes refuse a demoted
 * admin's earlier token on the next request (so it cannot grant `admin`
 * back to itself or to anyone), `/users/me` and introspection say what the
 * token allows now, and a refresh mints no token with the removed scope.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { basicAuth, claimsOf, formPostWith, passwordLogin, refreshOk, type Tokens } from '../helpers/lifecycle.js';
import { bearer, startTestServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'demoted-admin-passphrase-3';

describe('a scope taken from an account', () => {
  let server: TestServer;
  let rootToken: string;
  let introspector: { readonly id: string; readonly secret: string };

  const as = (token: string) => (method: string, path: string, body?: unknown) =>
    server.fetch(path, {
      method,
      headers: { ...bearer(token), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const scopesOf = async (username: string) => (await server.portcullis.users.get(username)).scopes;
  const introspect = async (token: string): Promise<Record<string, unknown>> => {
    const response = await formPostWith(server, '/introspect', { token }, basicAuth(introspector.id, introspector.secret));
    assert.equal(response.status, 200);
    return (await response.json()) as Record<string, unknown>;
  };
  /** Every admin route a demoted admin could use to get the scope back, for itself or for anyone. */
  const regrants = (token: string) =>
    [
      ['PATCH /admin/users/<self>', () => as(token)('PATCH', '/admin/users/bob', { scopes: ['admin', 'me'] })],
      ['PATCH /admin/users/<other>', () => as(token)('PATCH', '/admin/users/carol', { scopes: ['admin', 'me'] })],
      ['POST /admin/users', () => as(token)('POST', '/admin/users', { username: 'mallory', password: PASSWORD, scopes: ['admin'] })],
    ] as const;

  before(async () => {
    server = await startTestServer();
    await server.portcullis.users.create({ username: 'root', password: PASSWORD, scopes: ['admin', 'me'] });
    await server.portcullis.users.create({ username: 'carol', password: PASSWORD, scopes: ['me'] });
    rootToken = (await passwordLogin(server, 'root', PASSWORD)).access_token;
    const created = await server.portcullis.clients.create('introspector', [], 'test');
    introspector = { id: created.client.id, secret: created.secret };
  });
  after(() => server.stop());

  it('through the admin API: the earlier token is refused on the admin routes at once and cannot grant it back', async () => {
    await server.portcullis.users.create({ username: 'bob', password: PASSWORD, scopes: ['admin', 'me'] });
    const bob: Tokens = await passwordLogin(server, 'bob', PASSWORD);
    assert.equal(bob.scope, 'admin me');
    // Warm: the server has verified this token and holds its session and user.
    for (let i = 0; i < 2; i += 1) assert.equal((await as(bob.access_token)('GET', '/admin/users')).status, 200);

    const demoted = await as(rootToken)('PATCH', '/admin/users/bob', { scopes: ['me'] });
    assert.equal(demoted.status, 200, await demoted.text());

    const refused = await as(bob.access_token)('GET', '/admin/users');
    assert.equal(refused.status, 403, 'the very next request');
    assert.deepEqual(await refused.json(), { detail: 'Not enough permissions' });
    assert.equal(refused.headers.get('www-authenticate'), 'Bearer error="insufficient_scope", scope="admin"');
    for (const [label, attempt] of regrants(bob.access_token)) {
      const response = await attempt();
      assert.equal(response.status, 403, label);
    }
    assert.deepEqual(await scopesOf('bob'), ['me'], 'not granted back');
    assert.deepEqual(await scopesOf('carol'), ['me']);
    assert.equal(await server.portcullis.users.find('mallory'), undefined);

    // The token still works for what the account holds, and says so.
    const me = await as(bob.access_token)('GET', '/users/me');
    assert.equal(me.status, 200);
    assert.deepEqual(((await me.json()) as { scopes: string[] }).scopes, ['me']);
    const access = await introspect(bob.access_token);
    assert.equal(access.active, true);
    assert.equal(access.scope, 'me', 'introspection answers what the token allows now');
    const refreshToken = await introspect(bob.refresh_token);
    assert.equal(refreshToken.active, true);
    assert.equal(refreshToken.scope, 'me', 'and what a refresh would grant');

    // A refresh mints no token with the removed scope, asked for or not.
    const refreshed = await refreshOk(server, bob.refresh_token);
    assert.equal(refreshed.scope, 'me');
    assert.equal(claimsOf(refreshed.access_token).scope, 'me');
    const askedFor = await refreshOk(server, refreshed.refresh_token, { scope: 'admin' });
    assert.equal(askedFor.scope, '');
    for (const token of [refreshed.access_token, askedFor.access_token]) {
      assert.equal((await as(token)('GET', '/admin/users')).status, 403);
    }
  });

  it('works again for the tokens that carry it once it is given back', async () => {
    await server.portcullis.users.create({ username: 'dora', password: PASSWORD, scopes: ['admin'] });
    const dora = await passwordLogin(server, 'dora', PASSWORD);
    assert.equal((await as(rootToken)('PATCH', '/admin/users/dora', { scopes: [] })).status, 200);
    assert.equal((await as(dora.access_token)('GET', '/admin/users')).status, 403);
    assert.equal((await as(rootToken)('PATCH', '/admin/users/dora', { scopes: ['admin'] })).status, 200);
    assert.equal((await as(dora.access_token)('GET', '/admin/users')).status, 200);
  });
});
