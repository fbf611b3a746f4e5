/**
 * The `portcullis` Fastify plugin in a host app that has routes, an error
 * handler and a 404 handler of its own: every Portcullis route under /auth,
 * the guards on the host's routes, and the database either opened from a URL
 * or the host's own Kysely (SQLite always; PostgreSQL when it answers).
 */
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import { CamelCasePlugin, Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { portcullis, TableConflictError, type PortcullisPluginOptions } from '../../src/index.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../helpers/postgres.js';
import { sendRaw } from '../helpers/raw-http.js';
import { makeTempDir, TEST_SECRET_KEY } from '../helpers/server.js';

const PASSWORD = 'correct horse battery';

/** A host app as a team would have it before adding Portcullis. */
function hostApp(): FastifyInstance {
  const app = Fastify();
  app.setErrorHandler((error, _request, reply) => reply.code(418).send({ host: 'error handler', message: (error as Error).message }));
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ host: 'not found' }));
  app.get('/public', { schema: { querystring: { type: 'object', properties: { n: { type: 'integer' } } } } }, async (request) => ({
    query: request.query,
    user: request.user,
  }));
  return app;
}

async function withPortcullis(options: Omit<PortcullisPluginOptions, 'secretKey' | 'prefix'>): Promise<FastifyInstance> {
  const app = hostApp();
  await app.register(portcullis, { prefix: '/auth', secretKey: TEST_SECRET_KEY, ...options });
  app.get('/me', { preHandler: app.portcullis.requireAuth() }, async (request) => ({ user: request.user }));
  app.get('/items', { preHandler: app.portcullis.requireScopes('items') }, async (request) => ({ owner: request.user!.username }));
  await app.ready();
  return app;
}

function json(response: LightMyRequestResponse): Record<string, unknown> {
  return response.json<Record<string, unknown>>();
}

async function signUpAndLogIn(app: FastifyInstance, username: string): Promise<string> {
  const signUp = await app.inject({ method: 'POST', url: '/auth/users', payload: { username, password: PASSWORD } });
  assert.equal(signUp.statusCode, 201, signUp.body);
  const token = await app.inject({
    method: 'POST',
    url: '/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ username, password: PASSWORD }).toString(),
  });
  assert.equal(token.statusCode, 200, token.body);
  return json(token).access_token as string;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The behaviour every database setup must show. */
function describeEmbedding(
  name: string,
  open: () => Promise<{ app: FastifyInstance; done(): Promise<void> }>,
  skip: string | undefined = undefined,
): void {
  describe(`the portcullis plugin (${name})`, { skip }, () => {
    let app: FastifyInstance;
    let done: () => Promise<void>;
    before(async () => {
      ({ app, done } = await open());
    });
    after(() => done?.());

    it('serves the Portcullis routes under the prefix, and leaves the host its own', async () => {
      const token = await signUpAndLogIn(app, 'alice');
      const me = await app.inject({ url: '/auth/users/me', headers: bearer(token) });
      assert.equal(me.statusCode, 200);
      assert.equal(json(me).username, 'alice');
      assert.equal(me.headers['x-content-type-options'], 'nosniff');
      assert.deepEqual(json(await app.inject({ url: '/auth/healthz' })), { status: 'ok' });
      assert.deepEqual(json(await app.inject({ url: '/auth/nothing' })), { detail: 'Not Found' });
      assert.deepEqual(json(await app.inject({ url: '/nothing' })), { host: 'not found' });
      assert.equal((await app.inject({ url: '/users/me', headers: bearer(token) })).statusCode, 404);
      const host = await app.inject({ url: '/public?n=3' });
      assert.deepEqual(json(host), { query: { n: 3 }, user: null });
      assert.equal(host.headers['x-content-type-options'], undefined);
    });

    it("validates its routes as the standalone server does, whatever the host's Ajv settings", async () => {
      const typed = await app.inject({ method: 'POST', url: '/auth/users', payload: { username: 12345, password: PASSWORD } });
      assert.equal(typed.statusCode, 400);
      assert.deepEqual(json(typed), { detail: 'username must be string' });
      const unknown = await app.inject({
        method: 'POST',
        url: '/auth/users',
        payload: { username: 'zed', password: PASSWORD, admin: true },
      });
      assert.equal(unknown.statusCode, 400);
      assert.deepEqual(json(unknown), { detail: 'Unknown field: admin' });
    });

    it("gives the host's guarded route request.user, without any hash", async () => {
      const token = await signUpAndLogIn(app, 'bob');
      const response = await app.inject({ url: '/me', headers: bearer(token) });
      assert.equal(response.statusCode, 200);
      const user = json(response).user as Record<string, unknown>;
      assert.equal(user.username, 'bob');
      assert.deepEqual(user.scopes, []);
      assert.equal(typeof user.id, 'string');
      assert.equal(typeof user.sessionId, 'string');
      assert.doesNotMatch(response.body, /argon2|passwordHash|password_hash/);
    });

    it("answers 401 with WWW-Authenticate itself, past the host's error handler", async () => {
      const none = await app.inject({ url: '/me' });
      assert.equal(none.statusCode, 401);
      assert.deepEqual(json(none), { detail: 'Not authenticated' });
      assert.equal(none.headers['www-authenticate'], 'Bearer');
      for (const authorization of ['Bearer nonsense', 'Bearer a.b.c', 'Bearer bad token']) {
        const bad = await app.inject({ url: '/me', headers: { authorization } });
        assert.equal(bad.statusCode, 401, authorization);
        assert.deepEqual(json(bad), { detail: 'Could not validate credentials' });
        assert.equal(bad.headers['www-authenticate'], 'Bearer error="invalid_token"');
      }
      assert.equal((await app.inject({ url: '/me', headers: { authorization: 'Basic Ym9iOmJvYg==' } })).statusCode, 401);
    });

    it('answers 403 insufficient_scope for a token without the scope, and 200 with it', async () => {
      const token = await signUpAndLogIn(app, 'carol');
      const refused = await app.inject({ url: '/items', headers: bearer(token) });
      assert.equal(refused.statusCode, 403);
      assert.deepEqual(json(refused), { detail: 'Not enough permissions' });
      assert.equal(refused.headers['www-authenticate'], 'Bearer error="insufficient_scope", scope="items"');
      await app.portcullis.core.users.update('carol', { scopes: ['items'] });
      const login = await app.portcullis.issueTokens('carol', PASSWORD, { ip: '127.0.0.1' });
      const allowed = await app.inject({ url: '/items', headers: bearer(login.access_token) });
      assert.equal(allowed.statusCode, 200);
      assert.deepEqual(json(allowed), { owner: 'carol' });
    });

    it('refuses a scope taken from the account on the next request, for a token issued before', async () => {
      await app.portcullis.createUser({ username: 'erin', password: PASSWORD, scopes: ['items'] });
      const { access_token: token } = await app.portcullis.issueTokens('erin', PASSWORD, { ip: '127.0.0.1' });
      assert.equal((await app.inject({ url: '/items', headers: bearer(token) })).statusCode, 200);
      await app.portcullis.core.users.update('erin', { scopes: [] });
      const refused = await app.inject({ url: '/items', headers: bearer(token) });
      assert.equal(refused.statusCode, 403);
      assert.equal(refused.headers['www-authenticate'], 'Bearer error="insufficient_scope", scope="items"');
      const me = await app.inject({ url: '/me', headers: bearer(token) });
      assert.equal(me.statusCode, 200);
      assert.deepEqual((json(me).user as { scopes: string[] }).scopes, [], 'request.user.scopes: what the token allows now');
      await assert.rejects(app.portcullis.verifyRequest(`Bearer ${token}`, { scopes: ['items'] }), { code: 'ERR_INSUFFICIENT_SCOPE' });
    });

    it("refuses two Authorization headers on the host's guarded route with 400, whatever they hold", async () => {
      const token = await signUpAndLogIn(app, 'frank');
      const url = await app.listen({ port: 0, host: '127.0.0.1' });
      const get = async (...authorizations: string[]) => {
        const headers = authorizations.map((value) => `Authorization: ${value}\r\n`).join('');
        const { received } = await sendRaw(url, `GET /me HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}Connection: close\r\n\r\n`);
        return { status: Number(received.split(' ')[1]), body: received.slice(received.indexOf('\r\n\r\n') + 4) };
      };
      assert.equal((await get(`Bearer ${token}`)).status, 200, 'the control');
      for (const pair of [
        [`Bearer ${token}`, 'Bearer garbage'],
        ['Bearer garbage', `Bearer ${token}`],
      ]) {
        const refused = await get(...pair);
        assert.equal(refused.status, 400);
        assert.deepEqual(JSON.parse(refused.body), { detail: 'Duplicate Authorization header' });
      }
    });

    it('refuses a token on the next request once its session is logged out', async () => {
      const token = await signUpAndLogIn(app, 'dave');
      assert.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200);
      assert.equal((await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(token) })).statusCode, 204);
      assert.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 401);
    });

    it('refuses a malformed scope where the route is declared', () => {
      assert.throws(() => app.portcullis.requireScopes(), TypeError);
      assert.throws(() => app.portcullis.requireScopes('a b'), TypeError);
      assert.throws(() => app.portcullis.requireScopes('say "hi"'), TypeError);
    });
  });
}

describeEmbedding('a SQLite database it opens from a URL', async () => {
  const dir = makeTempDir();
  const app = await withPortcullis({ database: { url: `sqlite:${join(dir, 'auth.db')}` } });
  return {
    app,
    async done() {
      await app.close();
      // The connection it opened, it closed with the app.
      await assert.rejects(app.portcullis.core.ready());
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

/** The host's own SQLite connection, with a table of the host's and a plugin that would rename Portcullis's columns. */
function hostSqlite(path: string): Kysely<{ orders: { id: number; itemName: string } }> {
  const database = new BetterSqlite3(path);
  database.pragma('foreign_keys = ON');
  return new Kysely({ dialect: new SqliteDialect({ database }), plugins: [new CamelCasePlugin()] });
}

describe("the portcullis plugin and the host's own SQLite database", () => {
  let dir: string;
  before(() => {
    dir = makeTempDir();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describeEmbedding("the host's own SQLite connection", async () => {
    const kysely = hostSqlite(join(dir, 'host.db'));
    await kysely.schema
      .createTable('orders')
      .addColumn('id', 'integer', (col) => col.primaryKey())
      .addColumn('item_name', 'text')
      .execute();
    await kysely.insertInto('orders').values({ id: 1, itemName: 'drawbridge' }).execute();
    const app = await withPortcullis({ database: { kysely, dialect: 'sqlite' } });
    return {
      app,
      async done() {
        await app.close();
        // Still the host's, and still open: Portcullis closed nothing of it.
        assert.deepEqual(await kysely.selectFrom('orders').selectAll().execute(), [{ id: 1, itemName: 'drawbridge' }]);
        const users = await sql<{ n: number }>`select count(*) as n from users`.execute(kysely);
        assert.ok(users.rows[0]!.n >= 4);
        await kysely.destroy();
      },
    };
  });

  it("refuses a database where a table named like one of Portcullis's is the host's, and leaves it alone", async () => {
    const kysely = hostSqlite(join(dir, 'clash.db'));
    await kysely.schema.createTable('users').addColumn('email', 'text').execute();
    await kysely.schema.createTable('sessions').addColumn('token', 'text').execute();
    await sql`insert into users (email) values ('host@example.com')`.execute(kysely);
    const app = hostApp();
    await assert.rejects(
      async () => {
        await app.register(portcullis, { prefix: '/auth', secretKey: TEST_SECRET_KEY, database: { kysely, dialect: 'sqlite' } });
      },
      (error: unknown) => {
        assert.ok(error instanceof TableConflictError);
        assert.deepEqual(error.tables, ['users', 'sessions']);
        assert.match(error.message, /users, sessions/);
        return true;
      },
    );
    await app.close();
    const tables = await kysely.introspection.getTables({ withInternalKyselyTables: true });
    assert.deepEqual(tables.map((table) => table.name).sort(), ['sessions', 'users']);
    assert.deepEqual((await sql`select email from users`.execute(kysely)).rows, [{ email: 'host@example.com' }]);
    await kysely.destroy();
  });

  it('refuses a SQLite connection that does not enforce foreign keys', async () => {
    const database = new BetterSqlite3(join(dir, 'no-fk.db'));
    database.pragma('foreign_keys = OFF'); // better-sqlite3 turns them on by default
    const kysely = new Kysely<Record<string, never>>({ dialect: new SqliteDialect({ database }) });
    const app = hostApp();
    await assert.rejects(async () => {
      await app.register(portcullis, { prefix: '/auth', secretKey: TEST_SECRET_KEY, database: { kysely, dialect: 'sqlite' } });
    }, /foreign_keys = ON/);
    await app.close();
    await kysely.destroy();
  });

  it('refuses missing or malformed options before touching any database', async () => {
    const database = { url: `sqlite:${join(dir, 'unused.db')}` };
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ prefix: '/auth', database }, /secretKey is required/],
      [{ prefix: '/auth', secretKey: 'short', database }, /at least 32 are required/],
      [{ prefix: '/auth', secretKey: TEST_SECRET_KEY }, /database is required/],
      [{ prefix: '/auth', secretKey: TEST_SECRET_KEY, database: {} }, /database must be/],
      [{ prefix: '/auth', secretKey: TEST_SECRET_KEY, database: { kysely: {}, dialect: 'mysql' } }, /dialect must be/],
      [{ secretKey: TEST_SECRET_KEY, database }, /prefix must be a path/],
      [{ prefix: '/', secretKey: TEST_SECRET_KEY, database }, /prefix must be a path/],
    ];
    for (const [options, message] of cases) {
      const app = Fastify();
      await assert.rejects(async () => {
        await app.register(portcullis, options as unknown as PortcullisPluginOptions);
      }, message);
      await app.close();
    }
    assert.deepEqual(
      readdirSync(dir).filter((name) => name.startsWith('unused')),
      [],
    );
  });
});

const postgresSkip = await postgresSkipReason();
let postgresDatabase: TestDatabase | undefined;

describeEmbedding(
  "the host's own PostgreSQL pool",
  async () => {
    const database = (postgresDatabase = await createTestDatabase());
    const pool = new pg.Pool({ connectionString: database.url, max: 4 });
    const kysely = new Kysely<{ orders: { id: number } }>({ dialect: new PostgresDialect({ pool }) });
    await kysely.schema
      .createTable('orders')
      .addColumn('id', 'integer', (col) => col.primaryKey())
      .execute();
    // A table named like Portcullis's in another schema is no conflict: unqualified names resolve to the current one.
    await sql`create schema billing`.execute(kysely);
    await sql`create table billing.users (id integer)`.execute(kysely);
    const app = await withPortcullis({ database: { kysely, dialect: 'postgres' } });
    return {
      app,
      async done() {
        await app.close();
        await kysely.insertInto('orders').values({ id: 7 }).execute();
        assert.deepEqual(await kysely.selectFrom('orders').selectAll().execute(), [{ id: 7 }]);
        await kysely.destroy();
        await postgresDatabase?.drop();
      },
    };
  },
  postgresSkip,
);
