import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { cliEnv, makeDataDir, runCli, startServe, type CliResult, type ServeProcess } from '../helpers/cli.js';

interface Credentials {
  readonly id: string;
  readonly secret: string;
}

function basic({ id, secret }: Credentials): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

describe('portcullis clients add, list and remove', () => {
  const dataDir = makeDataDir();
  const printed: string[] = [];
  const run = async (args: readonly string[]): Promise<CliResult> => {
    const result = await runCli(args, { env: cliEnv(dataDir) });
    printed.push(result.stdout, result.stderr);
    return result;
  };
  let server: ServeProcess;
  let worker: Credentials;
  let auditor: Credentials;

  before(async () => {
    server = await startServe(cliEnv(dataDir));
  });
  after(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  function clientCredentialsGrant(credentials: Credentials, scope?: string): Promise<Response> {
    return server.fetch('/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(credentials) },
      body: new URLSearchParams({ grant_type: 'client_credentials', ...(scope === undefined ? {} : { scope }) }).toString(),
    });
  }

  async function introspect(token: string): Promise<{ active: boolean; client_id?: string }> {
    const response = await server.fetch('/introspect', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(auditor) },
      body: new URLSearchParams({ token }).toString(),
    });
    assert.equal(response.status, 200);
    return (await response.json()) as { active: boolean; client_id?: string };
  }

  it('adds a client and prints client_id and client_secret once, on stdout, saying the secret is not shown again', async () => {
    const result = await run(['clients', 'add', 'worker', '--scopes', 'read,write']);
    assert.equal(result.code, 0, result.stderr);
    const id = /^client_id=(pc_\S+)$/m.exec(result.stdout)?.[1];
    const secret = /^client_secret=(\S{32,})$/m.exec(result.stdout)?.[1];
    assert.ok(id && secret, result.stdout);
    assert.equal(result.stdout.trim().split('\n').length, 2, 'stdout holds just the two lines');
    assert.match(result.stderr, /not shown again/);
    assert.ok(!result.stderr.includes(secret), 'the notice does not repeat the secret');
    worker = { id, secret };
  });

  it('adds a client with --json', async () => {
    const result = await run(['clients', 'add', 'auditor', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const body = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), [
      'backchannel_logout_uri',
      'client_id',
      'client_secret',
      'created_at',
      'first_party',
      'grant_types',
      'name',
      'post_logout_redirect_uris',
      'redirect_uris',
      'scopes',
      'type',
    ]);
    assert.equal(body.name, 'auditor');
    assert.deepEqual(body.scopes, []);
    assert.match(result.stderr, /not shown again/);
    auditor = { id: String(body.client_id), secret: String(body.client_secret) };
  });

  it('lists clients without their secrets or hashes', async () => {
    const table = await run(['clients', 'list']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, new RegExp(`^${worker.id}\\s+worker\\s+confidential\\s+client_credentials\\s+read write\\s`, 'm'));
    assert.match(table.stdout, new RegExp(`^${auditor.id}\\s+auditor\\s`, 'm'));
    const json = await run(['clients', 'list', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const rows = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(rows.map((row) => row.name).sort(), ['auditor', 'worker']);
    for (const row of rows)
      assert.deepEqual(Object.keys(row).sort(), [
        'backchannel_logout_uri',
        'client_id',
        'created_at',
        'first_party',
        'grant_types',
        'name',
        'post_logout_redirect_uris',
        'redirect_uris',
        'scopes',
        'type',
      ]);
    for (const output of [table.stdout, json.stdout]) {
      for (const { secret } of [worker, auditor]) assert.ok(!output.includes(secret), 'a secret was listed');
      assert.doesNotMatch(output, /secret|hash/i);
    }
  });

  it('lets the printed secret obtain a token with the client_credentials grant over HTTP Basic', async () => {
    const response = await clientCredentialsGrant(worker);
    assert.equal(response.status, 200, await response.clone().text());
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(body.token_type, 'bearer');
    assert.equal(body.scope, 'read write');
    assert.equal(body.refresh_token, undefined, 'no refresh token for client credentials');
    const narrowed = (await (await clientCredentialsGrant(worker, 'read')).json()) as { scope: string };
    assert.equal(narrowed.scope, 'read');
    const wrong = await clientCredentialsGrant({ id: worker.id, secret: `${worker.secret.slice(0, -1)}x` });
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as { error: string }).error, 'invalid_client');
  });

  it('removes a client by name: its secret and its tokens stop working', async () => {
    const token = ((await (await clientCredentialsGrant(worker)).json()) as { access_token: string }).access_token;
    const active = await introspect(token);
    assert.equal(active.active, true);
    assert.equal(active.client_id, worker.id);

    const result = await run(['clients', 'remove', 'worker']);
    assert.equal(result.code, 0, result.stderr);
    const refused = await clientCredentialsGrant(worker);
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('www-authenticate'), 'Basic');
    assert.equal(((await refused.json()) as { error: string }).error, 'invalid_client');
    assert.deepEqual(await introspect(token), { active: false });
    const listed = JSON.parse((await run(['clients', 'list', '--json'])).stdout) as Array<{ name: string }>;
    assert.deepEqual(
      listed.map((row) => row.name),
      ['auditor'],
    );
  });

  it('removes a client by its client_id', async () => {
    const result = await run(['clients', 'remove', auditor.id]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal((await clientCredentialsGrant(auditor)).status, 401);
    assert.equal((await run(['clients', 'list'])).stdout.trim(), 'No clients.');
  });

  it('adds a public first-party web app of the code flow (no secret), changes it, and refuses a redirect URI it cannot register', async () => {
    const added = await run([
      'clients',
      'add',
      'spa',
      '--public',
      '--first-party',
      '--redirect-uri',
      'http://127.0.0.1:5173/cb',
      '--redirect-uri',
      'https://app.example/cb',
      '--grant',
      'authorization_code',
      '--grant',
      'refresh_token',
      '--scopes',
      'read',
    ]);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^client_id=pc_\S+\n$/);
    assert.match(added.stderr, /public client spa/);
    const updated = await run(['clients', 'update', 'spa', '--redirect-uri', 'https://app.example/cb2', '--no-first-party', '--json']);
    assert.equal(updated.code, 0, updated.stderr);
    const body = JSON.parse(updated.stdout) as Record<string, unknown>;
    assert.deepEqual(body.redirect_uris, ['https://app.example/cb2']);
    assert.equal(body.first_party, false);
    assert.equal(body.type, 'public');
    assert.deepEqual(body.grant_types, ['authorization_code', 'refresh_token']);
    assert.equal(body.backchannel_logout_uri, null);
    // Logout: where sign-out may return to, and where logout tokens go; then no more logout tokens.
    const logout = await run([
      'clients',
      'update',
      'spa',
      '--post-logout-redirect-uri',
      'https://app.example/bye',
      '--backchannel-logout-uri',
      'http://127.0.0.1:5173/backchannel-logout',
      '--json',
    ]);
    assert.equal(logout.code, 0, logout.stderr);
    const withLogout = JSON.parse(logout.stdout) as Record<string, unknown>;
    assert.deepEqual(withLogout.post_logout_redirect_uris, ['https://app.example/bye']);
    assert.equal(withLogout.backchannel_logout_uri, 'http://127.0.0.1:5173/backchannel-logout');
    const dropped = await run(['clients', 'update', 'spa', '--no-backchannel-logout-uri', '--json']);
    assert.equal(dropped.code, 0, dropped.stderr);
    assert.equal((JSON.parse(dropped.stdout) as Record<string, unknown>).backchannel_logout_uri, null);
    const plain = await run(['clients', 'update', 'spa', '--backchannel-logout-uri', 'http://app.example/logout']);
    assert.equal(plain.code, 2);
    assert.match(plain.stderr, /https/);
    const refused = await run(['clients', 'add', 'insecure', '--redirect-uri', 'http://app.example/cb']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /https/);
    assert.equal((await run(['clients', 'remove', 'spa'])).code, 0);
  });

  it('exits 2 for an unknown client, a taken name or an invalid name, and 1 for bad scopes', async () => {
    const missing = await run(['clients', 'remove', 'worker']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /No client named "worker"/);
    assert.equal((await run(['clients', 'add', 'twin'])).code, 0);
    const taken = await run(['clients', 'add', 'twin']);
    assert.equal(taken.code, 2);
    assert.match(taken.stderr, /already registered/);
    const invalid = await run(['clients', 'add', 'no spaces allowed']);
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /Client name must be/);
    const scopes = await run(['clients', 'add', 'scoped', '--scopes', 'a,"b"']);
    assert.equal(scopes.code, 1);
    assert.match(scopes.stderr, /--scopes/);
    assert.equal((await run(['clients', 'add'])).code, 1);
  });

  it('audits creation and removal with the actor cli, and the audit output never holds a secret', async () => {
    const result = await run(['audit', '--json', '--limit', '500']);
    assert.equal(result.code, 0, result.stderr);
    const events = JSON.parse(result.stdout) as Array<{
      type: string;
      actor: string | null;
      subject: string | null;
      details: Record<string, unknown>;
    }>;
    const created = events.filter((event) => event.type === 'client.created');
    assert.deepEqual(created.map((event) => event.details.name).sort(), ['auditor', 'spa', 'twin', 'worker']);
    assert.ok(created.every((event) => event.actor === 'cli'));
    const removed = events.find((event) => event.type === 'client.removed' && event.subject === `client:${worker.id}`);
    assert.equal(removed?.actor, 'cli');
    assert.ok(
      events.some((event) => event.type === 'client.auth_failure'),
      'the wrong secret was recorded',
    );
    const table = await run(['audit', '--limit', '500']);
    for (const output of [result.stdout, table.stdout]) {
      for (const { secret } of [worker, auditor]) assert.ok(!output.includes(secret), 'a secret is in the audit log');
    }
  });

  it('never prints a secret except in the output of clients add', () => {
    const addOutputs = new Set<string>();
    // The two add commands' stdout are the only places the secrets may appear.
    for (const text of printed) if (/^client_id=|"client_secret"/m.test(text)) addOutputs.add(text);
    const elsewhere = printed.filter((text) => !addOutputs.has(text)).join('\n');
    const { stdout, stderr } = server.output();
    for (const { secret } of [worker, auditor]) {
      assert.ok(!elsewhere.includes(secret));
      assert.ok(!stdout.includes(secret) && !stderr.includes(secret), 'the server logged a secret');
    }
  });
});
