/**
 * /admin/clients over real HTTP: registering a service client and a web app of the code flow,
 * the checks of redirect URIs and grants, changing and removing a client, the audit trail, and
 * that only an admin may.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, jsonPost, login, startTestServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'correct horse battery staple 42';

describe('/admin/clients', () => {
  let server: TestServer;
  let admin: string;

  before(async () => {
    server = await startTestServer();
    await server.portcullis.users.create({ username: 'root', password: PASSWORD, scopes: ['admin'] });
    await server.portcullis.users.create({ username: 'alice', password: PASSWORD });
    admin = await login(server, 'root', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  const patch = (path: string, body: unknown) =>
    server.fetch(path, { method: 'PATCH', headers: { 'content-type': 'application/json', ...bearer(admin) }, body: JSON.stringify(body) });

  it('registers a service client by default, with a secret shown once and client_credentials only', async () => {
    const created = await jsonPost(server, '/admin/clients', { name: 'worker', scopes: ['read'] }, bearer(admin));
    assert.equal(created.status, 201);
    const body = (await created.json()) as Record<string, unknown>;
    assert.equal(body.type, 'confidential');
    assert.deepEqual(body.grant_types, ['client_credentials']);
    assert.match(String(body.client_secret), /^\S{32,}$/);
    const shown = (await (await server.fetch('/admin/clients/worker', { headers: bearer(admin) })).json()) as Record<string, unknown>;
    assert.equal(shown.client_secret, undefined);
    assert.equal(shown.client_id, body.client_id);
  });

  it('registers a public first-party web app with the code flow grants, and lists it', async () => {
    const created = await jsonPost(
      server,
      '/admin/clients',
      { name: 'spa', type: 'public', first_party: true, redirect_uris: ['http://localhost:5173/cb', 'https://app.example/cb?x=1'] },
      bearer(admin),
    );
    assert.equal(created.status, 201);
    const body = (await created.json()) as Record<string, unknown>;
    assert.equal(body.client_secret, undefined);
    assert.deepEqual(body.grant_types, ['authorization_code', 'refresh_token']);
    assert.equal(body.first_party, true);
    const list = (await (await server.fetch('/admin/clients', { headers: bearer(admin) })).json()) as { clients: { name: string }[] };
    assert.ok(list.clients.some((client) => client.name === 'spa'));
  });

  it('refuses redirect URIs that cannot be registered and grants that do not go together, saying why', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ redirect_uris: ['http://app.example/cb'] }, /https/],
      [{ redirect_uris: ['https://app.example/cb#x'] }, /fragment/],
      [{ redirect_uris: ['/cb'] }, /absolute/],
      [{ redirect_uris: ['https://user:pw@app.example/cb'] }, /user information/],
      [{ type: 'public', grant_types: ['client_credentials'] }, /public client/],
      [{ grant_types: ['authorization_code'] }, /redirect URI/],
      [{ grant_types: ['refresh_token'] }, /authorization_code/],
    ];
    for (const [fields, detail] of cases) {
      const refused = await jsonPost(server, '/admin/clients', { name: 'bad', ...fields }, bearer(admin));
      assert.equal(refused.status, 400, JSON.stringify(fields));
      assert.match(((await refused.json()) as { detail: string }).detail, detail, JSON.stringify(fields));
    }
  });

  it('changes a client (a list replaces the old one) and removes it; both audited', async () => {
    await jsonPost(server, '/admin/clients', { name: 'wiki', redirect_uris: ['https://wiki.example/cb'] }, bearer(admin));
    const changed = await patch('/admin/clients/wiki', {
      redirect_uris: ['https://wiki.example/cb2'],
      first_party: true,
      scopes: ['read'],
    });
    assert.equal(changed.status, 200);
    const body = (await changed.json()) as Record<string, unknown>;
    assert.deepEqual(body.redirect_uris, ['https://wiki.example/cb2']);
    assert.equal(body.first_party, true);
    assert.equal((await patch('/admin/clients/wiki', { grant_types: ['refresh_token'] })).status, 400);
    assert.equal((await patch('/admin/clients/nobody', { first_party: true })).status, 404);
    const removed = await server.fetch('/admin/clients/wiki', { method: 'DELETE', headers: bearer(admin) });
    assert.equal(removed.status, 204);
    assert.equal((await server.fetch('/admin/clients/wiki', { headers: bearer(admin) })).status, 404);
    const audit = (await (await server.fetch('/admin/audit?type=client.updated', { headers: bearer(admin) })).json()) as {
      events: { actor: string }[];
    };
    assert.equal(audit.events[0]?.actor, 'root');
  });

  it('is for admins only', async () => {
    const user = await login(server, 'alice', PASSWORD);
    assert.equal((await server.fetch('/admin/clients', { headers: bearer(user) })).status, 403);
    assert.equal((await jsonPost(server, '/admin/clients', { name: 'sneaky' }, bearer(user))).status, 403);
  });
});
