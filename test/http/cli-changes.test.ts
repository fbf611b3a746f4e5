/**
 * A change made with the command line is in effect for the very next request
 * to a running server: a scope taken away, a key rotated, a key retired. On
 * SQLite the server sees the command's commit (data_version) before it
 * answers; on PostgreSQL the command returns only once every server listening
 * on the change bus has confirmed it applied the change, which the last test
 * shows by holding one server's listener back. The real binary (dist/: run
 * `npm run build` first) against a real server and database.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { CHANGE_CHANNEL } from '../../src/storage/sql/postgres-change-bus.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { changeListenerCount, createTestDatabase, ON_POSTGRES, TEST_POSTGRES_URL, type TestDatabase } from '../helpers/postgres.js';
import { bearer, login, startTestServer, TEST_SECRET_KEY, type TestServer } from '../helpers/server.js';
import { fetchJwks, headerOf, startOnOwnUrl } from '../helpers/signing-keys.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { eventually } from '../helpers/wait.js';

const PASSWORD = 'changed-from-the-shell-5';
const ALGORITHM = 'EdDSA';

/** The CLI on the server's database (`databaseUrl`: another way to it than the server's). */
function cliOn(server: TestServer, databaseUrl?: string) {
  const env = { ...server.sameDatabase, ...(databaseUrl === undefined ? {} : { DATABASE_URL: databaseUrl }) };
  return (args: readonly string[]): Promise<CliResult> =>
    runCli(args, { env: { ...env, SECRET_KEY: TEST_SECRET_KEY, ALGORITHM, LOG_LEVEL: 'silent' } });
}

async function status(server: TestServer, path: string, token: string, init: RequestInit = {}): Promise<number> {
  const response = await server.fetch(path, { ...init, headers: { ...bearer(token), ...init.headers } });
  await response.arrayBuffer();
  return response.status;
}

const regrant = (server: TestServer, token: string, username: string) =>
  status(server, `/admin/users/${username}`, token, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ scopes: ['admin'] }),
  });

describe('a change made with the CLI, on the next request to a running server', () => {
  let server: TestServer;
  let cli: (args: readonly string[]) => Promise<CliResult>;
  const kidsInStore = async (state: string) =>
    (await server.portcullis.keys!.list()).filter((key) => key.state === state).map((key) => key.kid);
  const publishedKids = async () => (await fetchJwks(server)).keys.map((key) => key.kid);
  const kidOf = (token: string) => headerOf(token).kid as string;

  before(async () => {
    server = await startOnOwnUrl({ ALGORITHM });
    cli = cliOn(server);
    await server.portcullis.users.create({ username: 'alice', password: PASSWORD, scopes: ['me'] });
  });
  after(() => server.stop());

  it('users update --scopes: a demoted admin is refused on the admin routes with the token issued before', async () => {
    await server.portcullis.users.create({ username: 'bob', password: PASSWORD, scopes: ['admin', 'me'] });
    const token = await login(server, 'bob', PASSWORD);
    for (let i = 0; i < 2; i += 1) assert.equal(await status(server, '/admin/users', token), 200);

    const result = await cli(['users', 'update', 'bob', '--scopes', 'me']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');

    assert.equal(await status(server, '/admin/users', token), 403, 'the first request after the command');
    assert.equal(await regrant(server, token, 'bob'), 403);
    assert.deepEqual((await server.portcullis.users.get('bob')).scopes, ['me']);
  });

  it('keys rotate: the first JWKS publishes the new next key, and the first login is signed by the promoted one', async () => {
    const [next] = await kidsInStore('next');
    // Warm: the server has signed, verified and published from the keys it holds.
    const before = await login(server, 'alice', PASSWORD);
    assert.equal(await status(server, '/users/me', before), 200);
    assert.ok((await publishedKids()).includes(next!));

    const result = await cli(['keys', 'rotate', '--force']);
    assert.equal(result.code, 0, result.stderr);
    const rotated = /^Rotated: (\S+) now signs; (\S+) is retired; (\S+) is published as the next key\.\n$/.exec(result.stdout);
    assert.ok(rotated, result.stdout);
    assert.equal(rotated[1], next);
    const newNext = rotated[3]!;

    assert.ok((await publishedKids()).includes(newNext), 'the first JWKS after the command');
    assert.equal(kidOf(await login(server, 'alice', PASSWORD)), next, 'the first login after the command');
    assert.equal(await status(server, '/users/me', before), 200, 'a token of the retired key still works');
  });

  it('keys retire: the first request with a token of the retired key is refused, and the first login is signed by the next key', async () => {
    const [current] = await kidsInStore('current');
    const [next] = await kidsInStore('next');
    const token = await login(server, 'alice', PASSWORD);
    assert.equal(kidOf(token), current);
    for (let i = 0; i < 2; i += 1) assert.equal(await status(server, '/users/me', token), 200);

    const result = await cli(['keys', 'retire', current!]);
    assert.equal(result.code, 0, result.stderr);

    assert.equal(await status(server, '/users/me', token), 401, 'the first request after the command');
    assert.equal(kidOf(await login(server, 'alice', PASSWORD)), next, 'the first login after the command');
    assert.ok(!(await publishedKids()).includes(current!), 'the first JWKS after the command');
  });
});

describe(
  'a CLI change on PostgreSQL, with a server whose change listener is held back',
  { skip: ON_POSTGRES ? undefined : 'PostgreSQL only (--database=postgres)' },
  () => {
    let database: TestDatabase;
    let proxy: TcpProxy;
    let server: TestServer;
    let channel: pg.Client;
    /** Confirmation requests seen on the bus's channel, as they go by. */
    const requests: string[] = [];
    let onRequest: () => void = () => {};
    const isListener = (hello: string) => hello.includes('portcullis-changes');

    before(async () => {
      database = await createTestDatabase();
      proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(TEST_POSTGRES_URL).port || 5432) });
      server = await startTestServer({ DATABASE_URL: proxy.via(database.url) });
      await eventually(async () => (await changeListenerCount(database.name)) === 1, 'the server listens for changes', 200);
      // Not a Portcullis listener (another application_name): watches the channel without being waited for.
      channel = new pg.Client({ connectionString: database.url });
      await channel.connect();
      channel.on('notification', (message) => {
        if (message.payload?.includes('"confirm"')) {
          requests.push(message.payload);
          onRequest();
        }
      });
      await channel.query(`listen ${CHANGE_CHANNEL}`);
      await server.portcullis.users.create({ username: 'carol', password: PASSWORD, scopes: ['admin', 'me'] });
    });
    after(async () => {
      proxy?.restore();
      await channel?.end();
      await server?.stop();
      await proxy?.close();
      await database?.drop();
    });

    it('returns only once that server has applied it, and its next request is refused', async () => {
      const token = await login(server, 'carol', PASSWORD);
      for (let i = 0; i < 2; i += 1) assert.equal(await status(server, '/admin/users', token), 200);

      proxy.stall(isListener);
      const confirmationAsked = new Promise<'asked'>((resolve) => (onRequest = () => resolve('asked')));
      // The command reaches PostgreSQL directly; only the server's listener goes through the proxy.
      const command = cliOn(server, database.url)(['users', 'update', 'carol', '--scopes', 'me']);
      // The command either asks the servers to confirm (and waits), or it has already exited.
      const first = await Promise.race([confirmationAsked, command.then(() => 'exited' as const)]);
      assert.equal(first, 'asked', 'the command waits for the servers instead of exiting after its commit');
      assert.deepEqual((await server.portcullis.users.get('carol')).scopes, ['me'], 'committed');
      assert.equal(await status(server, '/admin/users', token), 200, 'the held-back server has not heard of it yet');

      proxy.restore();
      const result = await command;
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, '', 'every server confirmed');
      assert.equal(await status(server, '/admin/users', token), 403, 'the first request after the command');
      assert.equal(await regrant(server, token, 'carol'), 403);
      assert.equal(requests.length, 1);
    });
  },
);
