/**
 * GET /revocations and the verifier library following it, end to end: the
 * real server (SQLite, or PostgreSQL in the second pass) over real HTTP, and
 * a verifier in this process that polls it. Every way a session ends is
 * refused by the verifier once it has synced after it; waits are on the
 * verifier's syncs (nextSync), never on the clock.
 */
import { fixedClock, systemClock, type Clock } from '../../src/core/clock.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  createVerifier,
  RevocationsUnavailableError,
  RevokedTokenError,
  type RevocationFeedOptions,
  type Verifier,
} from '../../src/verifier/index.js';
import { basicAuth, passwordLogin, refresh, refreshOk, type Tokens } from '../helpers/lifecycle.js';
import { bearer, startTestServer, TEST_SECRET_KEY, type TestServer } from '../helpers/server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const ISSUER = 'http://portcullis.test';
const PASSWORD = 'correct horse battery';

interface FeedClient {
  readonly id: string;
  readonly secret: string;
}

function followFeed(
  url: string,
  client: FeedClient,
  extra: Partial<RevocationFeedOptions> = {},
  clock: Clock = fixedClock(Date.now()),
): Verifier {
  return createVerifier({
    issuer: ISSUER,
    secret: TEST_SECRET_KEY,
    clock,
    revocations: {
      url,
      clientId: client.id,
      clientSecret: client.secret,
      intervalMs: 25,
      maxStalenessSeconds: 60,
      log: () => undefined,
      ...extra,
    },
  });
}

async function assertRevoked(verifier: Verifier, token: string, label: string): Promise<void> {
  await assert.rejects(verifier.verify(token), RevokedTokenError, label);
}

async function assertAccepted(verifier: Verifier, token: string, label: string): Promise<void> {
  await assert.doesNotReject(verifier.verify(token), label);
}

/** Waits until the verifier has finished a sync that started after this call, and checks it succeeded. */
async function synced(verifier: Verifier): Promise<void> {
  const result = await verifier.revocations!.nextSync();
  assert.equal(result.ok, true, String(result.error));
}

describe('GET /revocations', () => {
  let server: TestServer;
  let client: FeedClient;
  const feed = (query = '', headers: Record<string, string> = basicAuth(client.id, client.secret)) =>
    server.fetch(`/revocations${query}`, { headers });

  before(async () => {
    server = await startTestServer();
    const created = await server.portcullis.clients.create('resource-server', [], 'test');
    client = { id: created.client.id, secret: created.secret };
    await server.portcullis.users.create({ username: 'alice', password: PASSWORD });
  });
  after(() => server.stop());

  it('lists a logged-out session for a service client, from the start and from a cursor, never cached', async () => {
    const start = await feed();
    assert.equal(start.status, 200);
    assert.equal(start.headers.get('cache-control'), 'no-store');
    const first = (await start.json()) as {
      cursor: string;
      full: boolean;
      more: boolean;
      retain_seconds: number;
      sids: string[];
      versions: unknown[];
    };
    assert.equal(first.full, true);
    assert.equal(first.more, false);
    assert.equal(first.retain_seconds, 30 * 60 + 5 + 60, 'the token lifetime, the clock tolerance and a minute');
    const tokens = await passwordLogin(server, 'alice', PASSWORD);
    assert.equal((await server.fetch('/logout', { method: 'POST', headers: bearer(tokens.access_token) })).status, 204);
    const sid = (await createVerifier({ issuer: ISSUER, secret: TEST_SECRET_KEY }).verify(tokens.access_token)).sid;
    const next = (await (await feed(`?since=${first.cursor}`)).json()) as typeof first;
    assert.equal(next.full, false);
    assert.deepEqual(next.sids, [sid]);
    assert.deepEqual(next.versions, []);
    assert.notEqual(next.cursor, first.cursor);
    const none = (await (await feed(`?since=${next.cursor}`)).json()) as typeof first;
    assert.deepEqual([none.sids, none.cursor, none.full], [[], next.cursor, false]);
  });

  it('pages with limit, saying there is more', async () => {
    for (let i = 0; i < 2; i += 1) {
      const tokens = await passwordLogin(server, 'alice', PASSWORD);
      await server.fetch('/logout', { method: 'POST', headers: bearer(tokens.access_token) });
    }
    const page = (await (await feed('?limit=1')).json()) as { more: boolean; sids: string[]; cursor: string };
    assert.equal(page.more, true);
    assert.equal(page.sids.length, 1);
    const rest = (await (await feed(`?since=${page.cursor}`)).json()) as { more: boolean; sids: string[] };
    assert.equal(rest.more, false);
    assert.equal(rest.sids.length, 2);
  });

  it('answers 400 with a clear detail for a bad cursor, limit or parameter', async () => {
    for (const [query, detail] of [
      ['?since=abc', 'since must be a cursor from an earlier answer of GET /revocations (a decimal number)'],
      ['?since=-1', 'since must be a cursor from an earlier answer of GET /revocations (a decimal number)'],
      ['?limit=0', 'limit must be an integer from 1 to 10000'],
      ['?limit=10001', 'limit must be an integer from 1 to 10000'],
      ['?cursor=1', 'Unknown field: cursor'],
    ] as const) {
      const response = await feed(query);
      assert.equal(response.status, 400, query);
      assert.deepEqual(await response.json(), { detail }, query);
    }
  });

  it('answers 401 with WWW-Authenticate: Basic without a client, or with a wrong secret or a bearer token', async () => {
    const tokens = await passwordLogin(server, 'alice', PASSWORD);
    for (const [label, headers] of [
      ['none', {}],
      ['wrong secret', basicAuth(client.id, `${client.secret}x`)],
      ['unknown client', basicAuth('pc_unknown', client.secret)],
      ["a user's access token", bearer(tokens.access_token)],
    ] as const) {
      const response = await feed('', headers);
      assert.equal(response.status, 401, label);
      assert.equal(response.headers.get('www-authenticate'), 'Basic', label);
      assert.match(((await response.json()) as { detail: string }).detail, /Client authentication/, label);
    }
  });

  it('is documented in /openapi.json, for service clients', async () => {
    const doc = (await (await server.fetch('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { security?: unknown[]; responses: object }>>;
    };
    const operation = doc.paths['/revocations']?.get;
    assert.ok(operation, 'GET /revocations is in the document');
    assert.deepEqual(operation.security, [{ ClientBasic: [] }]);
    assert.deepEqual(Object.keys(operation.responses).sort(), ['200', '400', '401', '429', '4XX', '5XX']);
  });
});

describe('GET /revocations and the rate limit', () => {
  let server: TestServer;
  let client: FeedClient;

  before(async () => {
    server = await startTestServer({ RATE_LIMIT_IP_BURST: '2', RATE_LIMIT_IP_PER_MINUTE: '1' });
    const created = await server.portcullis.clients.create('resource-server', [], 'test');
    client = { id: created.client.id, secret: created.secret };
  });
  after(() => server.stop());

  it("spends the address's bucket on failed client authentications only: polls never run out, guesses do", async () => {
    for (let i = 0; i < 5; i += 1)
      assert.equal((await server.fetch('/revocations', { headers: basicAuth(client.id, client.secret) })).status, 200);
    const guesses = [];
    for (let i = 0; i < 3; i += 1) guesses.push((await server.fetch('/revocations', { headers: basicAuth(client.id, 'guess') })).status);
    assert.deepEqual(guesses, [401, 401, 429]);
    assert.equal(
      (await server.fetch('/revocations', { headers: basicAuth(client.id, client.secret) })).status,
      200,
      'the client itself is not locked out',
    );
  });
});

describe('the verifier following the revocation feed', () => {
  let server: TestServer;
  let client: FeedClient;
  let verifier: Verifier;
  let adminToken: string;

  before(async () => {
    server = await startTestServer({ REFRESH_REUSE_GRACE_SECONDS: '0' });
    const created = await server.portcullis.clients.create('resource-server', [], 'test');
    client = { id: created.client.id, secret: created.secret };
    await server.portcullis.users.create({ username: 'root', password: PASSWORD, scopes: ['admin'] });
    adminToken = (await passwordLogin(server, 'root', PASSWORD)).access_token;
    // The server stamps its tokens with the system clock, so the verifier reads the same: a clock fixed
    // at the start fell behind the tokens made later in the suite by more than the 5 s tolerance on a
    // loaded machine (nbf "in the future"). Tokens live 30 minutes; nothing here waits on time.
    verifier = followFeed(`${server.url}/revocations`, client, {}, systemClock);
  });
  after(async () => {
    await verifier?.close();
    await server?.stop();
  });

  let users = 0;
  /** A new user, and two logins of it. */
  async function twoLogins(): Promise<{ username: string; a: Tokens; b: Tokens }> {
    users += 1;
    const username = `user${users}`;
    await server.portcullis.users.create({ username, password: PASSWORD });
    return { username, a: await passwordLogin(server, username, PASSWORD), b: await passwordLogin(server, username, PASSWORD) };
  }

  const post = (path: string, token: string) => server.fetch(path, { method: 'POST', headers: bearer(token) });
  const admin = (method: string, path: string, body?: unknown) =>
    server.fetch(path, {
      method,
      headers: { ...bearer(adminToken), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it('accepts a token before its logout and refuses it once it has synced after the logout; the other session goes on', async () => {
    const { a, b } = await twoLogins();
    await assertAccepted(verifier, a.access_token, 'before the logout');
    assert.equal((await post('/logout', a.access_token)).status, 204);
    await synced(verifier);
    await assertRevoked(verifier, a.access_token, 'after the logout');
    await assertAccepted(verifier, b.access_token, 'the other session');
  });

  it('refuses every session of a user after a global logout (revoke-all)', async () => {
    const { a, b } = await twoLogins();
    assert.equal((await post('/logout?scope=global', a.access_token)).status, 204);
    await synced(verifier);
    await assertRevoked(verifier, a.access_token, 'this session');
    await assertRevoked(verifier, b.access_token, 'the other session');
  });

  it("refuses a session ended by DELETE /users/me/sessions/{id} and by an admin's revoke-all", async () => {
    const { username, a, b } = await twoLogins();
    const sidOfB = (await verifier.verify(b.access_token)).sid!;
    assert.equal((await server.fetch(`/users/me/sessions/${sidOfB}`, { method: 'DELETE', headers: bearer(a.access_token) })).status, 204);
    await synced(verifier);
    await assertRevoked(verifier, b.access_token, 'the deleted session');
    await assertAccepted(verifier, a.access_token, 'the session that deleted it');
    assert.equal((await admin('DELETE', `/admin/users/${username}/sessions`)).status, 204);
    await synced(verifier);
    await assertRevoked(verifier, a.access_token, "after the admin's revoke-all");
  });

  it("refuses after a password change every other session's tokens and this session's older ones, and accepts its refreshed token", async () => {
    const { a, b } = await twoLogins();
    const changed = await server.fetch('/users/me/password', {
      method: 'PUT',
      headers: { ...bearer(a.access_token), 'content-type': 'application/json' },
      body: JSON.stringify({ current_password: PASSWORD, new_password: 'another horse battery' }),
    });
    assert.equal(changed.status, 204);
    await synced(verifier);
    await assertRevoked(verifier, b.access_token, 'the other session');
    await assertRevoked(verifier, a.access_token, "this session's token from before the change");
    const refreshed = await refreshOk(server, a.refresh_token);
    await assertAccepted(verifier, refreshed.access_token, "this session's token from after the change");
  });

  it('refuses the tokens of a disabled user, of a removed user, and of a session whose refresh token was reused', async () => {
    const disabled = await twoLogins();
    const removed = await twoLogins();
    const reused = await twoLogins();
    assert.equal((await admin('PATCH', `/admin/users/${disabled.username}`, { disabled: true })).status, 200);
    assert.equal((await admin('DELETE', `/admin/users/${removed.username}`)).status, 204);
    const rotated = await refreshOk(server, reused.a.refresh_token);
    // REFRESH_REUSE_GRACE_SECONDS=0: presenting the retired token again ends the session.
    assert.equal((await refresh(server, reused.a.refresh_token)).status, 401);
    await synced(verifier);
    for (const token of [disabled.a, disabled.b, removed.a, removed.b])
      await assertRevoked(verifier, token.access_token, 'disabled or removed');
    await assertRevoked(verifier, reused.a.access_token, 'the reused session, its first token');
    await assertRevoked(verifier, rotated.access_token, 'the reused session, its token after the rotation');
    await assertAccepted(verifier, reused.b.access_token, "the same user's other session");
  });
});

describe('the verifier when the revocation feed does not answer', () => {
  let server: TestServer;
  let client: FeedClient;
  let proxy: TcpProxy;
  let token: string;

  before(async () => {
    server = await startTestServer();
    const created = await server.portcullis.clients.create('resource-server', [], 'test');
    client = { id: created.client.id, secret: created.secret };
    await server.portcullis.users.create({ username: 'alice', password: PASSWORD });
    token = (await passwordLogin(server, 'alice', PASSWORD)).access_token;
    const { port } = new URL(server.url);
    proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(port) });
  });
  after(async () => {
    await proxy?.close();
    await server?.stop();
  });

  /** A verifier whose feed goes through the proxy; the tests ask for syncs themselves (the interval is long). */
  function throughProxy(whenStale: 'refuse' | 'accept', log: (message: string) => void = () => undefined) {
    const clock = fixedClock(Date.now());
    const verifier = followFeed(
      proxy.via(`${server.url}/revocations`),
      client,
      { intervalMs: 60_000, maxStalenessSeconds: 120, whenStale, log },
      clock,
    );
    return { verifier, clock };
  }

  it('refuses tokens with 503 once the feed has been away for maxStalenessSeconds (fail-closed, the default), and recovers', async () => {
    const { verifier, clock } = throughProxy('refuse');
    try {
      await assertAccepted(verifier, token, 'the feed answers');
      proxy.cut();
      assert.equal((await verifier.revocations!.sync()).ok, false);
      clock.advance(120_000);
      await assertAccepted(verifier, token, 'within the bound');
      clock.advance(1);
      const error = await verifier.verify(token).then(
        () => assert.fail('accepted while the feed is stale'),
        (refused: unknown) => refused,
      );
      assert.ok(error instanceof RevocationsUnavailableError);
      assert.equal(error.status, 503);
      proxy.restore();
      assert.equal((await verifier.revocations!.sync()).ok, true);
      await assertAccepted(verifier, token, 'the feed answers again');
    } finally {
      proxy.restore();
      await verifier.close();
    }
  });

  it("accepts tokens with whenStale: 'accept' (fail-open) and logs that it does, once", async () => {
    const logged: string[] = [];
    const { verifier, clock } = throughProxy('accept', (message) => logged.push(message));
    try {
      await assertAccepted(verifier, token, 'the feed answers');
      proxy.cut();
      clock.advance(121_000);
      assert.equal((await verifier.revocations!.sync()).ok, false);
      assert.equal((await verifier.revocations!.sync()).ok, false);
      await assertAccepted(verifier, token, 'stale, and accepted');
      assert.equal(logged.length, 2, logged.join('\n'));
      assert.match(logged[0]!, /the revocation feed failed/);
      assert.match(logged[1]!, /no answer from the revocation feed for over 120 s: accepting tokens/);
    } finally {
      proxy.restore();
      await verifier.close();
    }
  });
});
