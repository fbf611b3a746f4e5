/** The admin API (/admin/users, /admin/audit): access control, account management, sessions, audit. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, formPost, jsonPost, login, startTestServer, type TestServer } from '../helpers/server.js';
import type { PublicAuditEvent } from '../../src/core/audit/audit-event.js';

const ADMIN_PASSWORD = 'gatekeeper-Admin-passphrase-9';
const USER_PASSWORD = 'ordinary-User-passphrase-4';
const NEW_PASSWORD = 'freshly-Minted-passphrase-7';

interface Tokens {
  readonly access: string;
  readonly refresh: string;
}

interface PublicUserBody {
  username: string;
  email: string | null;
  full_name: string | null;
  disabled: boolean;
  scopes: string[];
  created_at: string;
}

type AuditEventBody = PublicAuditEvent;

interface AuditPageBody {
  events: AuditEventBody[];
  next: string | null;
}

/** A password login that keeps both tokens. */
async function tokens(server: TestServer, username: string, password: string, scope?: string): Promise<Tokens> {
  const response = await formPost(server, '/token', { username, password, ...(scope === undefined ? {} : { scope }) });
  assert.equal(response.status, 200, await response.clone().text());
  const body = (await response.json()) as { access_token: string; refresh_token: string };
  return { access: body.access_token, refresh: body.refresh_token };
}

function refresh(server: TestServer, refreshToken: string): Promise<Response> {
  return formPost(server, '/token', { grant_type: 'refresh_token', refresh_token: refreshToken });
}

function meStatus(server: TestServer, accessToken: string): Promise<number> {
  return server.fetch('/users/me', { headers: bearer(accessToken) }).then((response) => response.status);
}

/** Requests as a given bearer token, with a JSON body when there is one. */
function client(server: TestServer, token: () => string | undefined) {
  return (method: string, path: string, body?: unknown): Promise<Response> => {
    const access = token();
    const headers: Record<string, string> = access === undefined ? {} : bearer(access);
    if (body !== undefined) headers['content-type'] = 'application/json';
    return server.fetch(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  };
}

async function detail(response: Response): Promise<string> {
  return ((await response.json()) as { detail: string }).detail;
}

/** One request of every admin route, valid apart from who asks. */
const EVERY_ROUTE: ReadonlyArray<readonly [string, string, unknown?]> = [
  ['GET', '/admin/users'],
  ['GET', '/admin/users/alice'],
  ['POST', '/admin/users', { username: 'intruder', password: USER_PASSWORD }],
  ['PATCH', '/admin/users/alice', { scopes: ['admin'] }],
  ['PUT', '/admin/users/alice/password', { password: NEW_PASSWORD }],
  ['DELETE', '/admin/users/alice'],
  ['GET', '/admin/users/alice/sessions'],
  ['DELETE', '/admin/users/alice/sessions'],
  ['DELETE', '/admin/users/alice/sessions/abc'],
  ['GET', '/admin/audit'],
  ['GET', '/admin/mail/outbox'],
  ['POST', '/admin/users/alice/password-reset'],
];

describe('admin API access control', () => {
  let server: TestServer;
  let userToken: string;
  let narrowedAdminToken: string;
  let clientToken: string;

  before(async () => {
    server = await startTestServer();
    await server.portcullis.users.create({ username: 'root', password: ADMIN_PASSWORD, scopes: ['admin', 'me'] });
    await server.portcullis.users.create({ username: 'alice', password: USER_PASSWORD, scopes: ['me'] });
    userToken = await login(server, 'alice', USER_PASSWORD);
    narrowedAdminToken = await login(server, 'root', ADMIN_PASSWORD, 'me');
    const { client: created, secret } = await server.portcullis.clients.create('robot', ['admin'], 'test');
    const response = await formPost(server, '/token', { grant_type: 'client_credentials', client_id: created.id, client_secret: secret });
    assert.equal(response.status, 200);
    clientToken = ((await response.json()) as { access_token: string }).access_token;
  });
  after(() => server.stop());

  async function assertUnchanged(): Promise<void> {
    const alice = await server.portcullis.users.get('alice');
    assert.deepEqual(alice.scopes, ['me']);
    assert.equal(alice.disabled, false);
    assert.equal(await server.portcullis.users.find('intruder'), undefined);
    assert.equal(await meStatus(server, userToken), 200);
  }

  it('returns 401 Not authenticated without a token, on every route', async () => {
    const call = client(server, () => undefined);
    for (const [method, path, body] of EVERY_ROUTE) {
      const response = await call(method, path, body);
      assert.equal(response.status, 401, `${method} ${path}`);
      assert.equal(response.headers.get('www-authenticate'), 'Bearer');
      assert.deepEqual(await response.json(), { detail: 'Not authenticated' });
    }
    await assertUnchanged();
  });

  it('returns 401 invalid_token for a bad token', async () => {
    const response = await client(server, () => 'not.a.token')('GET', '/admin/users');
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
    assert.deepEqual(await response.json(), { detail: 'Could not validate credentials' });
  });

  for (const [who, token] of [
    ['a user without the admin scope', () => userToken],
    ['an admin whose token was narrowed to scope=me at login', () => narrowedAdminToken],
  ] as const) {
    it(`returns 403 insufficient_scope to ${who}, on every route`, async () => {
      const call = client(server, token);
      for (const [method, path, body] of EVERY_ROUTE) {
        const response = await call(method, path, body);
        assert.equal(response.status, 403, `${method} ${path}`);
        assert.equal(response.headers.get('www-authenticate'), 'Bearer error="insufficient_scope", scope="admin"');
        assert.deepEqual(await response.json(), { detail: 'Not enough permissions' });
      }
      await assertUnchanged();
    });
  }

  it("returns 403 to a service client's token even when the client holds the admin scope", async () => {
    const response = await client(server, () => clientToken)('GET', '/admin/users');
    assert.equal(response.status, 403);
    await assertUnchanged();
  });

  it('checks the token before the request: a malformed request without a token is still 401', async () => {
    const call = client(server, () => undefined);
    assert.equal((await call('GET', '/admin/users?limit=nonsense')).status, 401);
    assert.equal((await call('POST', '/admin/users', { bogus: true })).status, 401);
    assert.equal((await call('GET', '/admin/users?limit=nonsense')).status, 401);
    assert.equal((await client(server, () => userToken)('PATCH', '/admin/users/alice', {})).status, 403);
  });
});

describe('admin API: users', () => {
  let server: TestServer;
  let adminToken: string;
  let admin: ReturnType<typeof client>;

  before(async () => {
    // Admins create accounts even where sign-up is closed.
    server = await startTestServer({ REGISTRATION: 'closed' });
    await server.portcullis.users.create({ username: 'root', password: ADMIN_PASSWORD, scopes: ['admin'] });
    adminToken = await login(server, 'root', ADMIN_PASSWORD);
    admin = client(server, () => adminToken);
  });
  after(() => server.stop());

  it('creates a user with scopes, e-mail and name: 201, no hash, and it can log in', async () => {
    const response = await admin('POST', '/admin/users', {
      username: 'Alice',
      password: USER_PASSWORD,
      email: 'alice@example.com',
      full_name: 'Alice Liddell',
      scopes: ['me', 'items'],
    });
    assert.equal(response.status, 201);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const text = await response.text();
    assert.doesNotMatch(text, /password|hash|argon2/i);
    const user = JSON.parse(text) as PublicUserBody;
    assert.deepEqual(
      { ...user, created_at: undefined },
      {
        username: 'Alice',
        email: 'alice@example.com',
        email_verified: false,
        full_name: 'Alice Liddell',
        disabled: false,
        scopes: ['me', 'items'],
        created_at: undefined,
        mfa_required: false,
      },
    );
    assert.ok(!Number.isNaN(Date.parse(user.created_at)));
    const granted = await formPost(server, '/token', { username: 'alice', password: USER_PASSWORD });
    assert.equal(((await granted.json()) as { scope: string }).scope, 'me items');
  });

  it('refuses a scope with a space (400) instead of reading it as two scopes, on create and on update', async () => {
    const created = await admin('POST', '/admin/users', { username: 'spaced', password: USER_PASSWORD, scopes: ['no admin'] });
    assert.equal(created.status, 400);
    assert.match(((await created.json()) as { detail: string }).detail, /scope/i);
    assert.equal((await admin('POST', '/admin/users', { username: 'spaced', password: USER_PASSWORD, scopes: ['me'] })).status, 201);
    const updated = await admin('PATCH', '/admin/users/spaced', { scopes: ['me admin'] });
    assert.equal(updated.status, 400);
    const shown = await admin('GET', '/admin/users/spaced');
    assert.deepEqual(((await shown.json()) as PublicUserBody).scopes, ['me']);
  });

  it('creates a disabled user that cannot log in', async () => {
    const response = await admin('POST', '/admin/users', { username: 'dormant', password: USER_PASSWORD, disabled: true });
    assert.equal(response.status, 201);
    assert.equal(((await response.json()) as PublicUserBody).disabled, true);
    const granted = await formPost(server, '/token', { username: 'dormant', password: USER_PASSWORD });
    assert.equal(granted.status, 401);
    assert.equal(await detail(granted), 'Inactive user');
  });

  it('returns 409 for a taken name in any case', async () => {
    const response = await admin('POST', '/admin/users', { username: 'ALICE', password: USER_PASSWORD });
    assert.equal(response.status, 409);
    assert.deepEqual(await response.json(), { detail: 'Username already registered' });
  });

  it('returns 400 for invalid bodies, saying why, and never echoes the password', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ username: 'bob' }, /Missing required field: password/],
      [{ password: USER_PASSWORD }, /Missing required field: username/],
      [{ username: 'bob', password: USER_PASSWORD, role: 'admin' }, /Unknown field: role/],
      [{ username: 'bob', password: USER_PASSWORD, hashed_password: 'x' }, /Unknown field: hashed_password/],
      [{ username: 'has space', password: USER_PASSWORD }, /username/i],
      [{ username: 'bob', password: 'password1' }, /too common/],
      [{ username: 'bob', password: 'short' }, /at least 8 characters/],
      [{ username: 'bob', password: USER_PASSWORD, email: 'not-an-email' }, /Invalid e-mail address/],
      [{ username: 'bob', password: USER_PASSWORD, scopes: 'me items' }, /scopes must be array/],
      [{ username: 'bob', password: USER_PASSWORD, scopes: ['me', 'bad"scope'] }, /Invalid scopes/],
      [{ username: 'bob', password: USER_PASSWORD, disabled: 'yes' }, /disabled must be boolean/],
      [[], /Request body must be object/],
    ];
    for (const [body, reason] of cases) {
      const response = await admin('POST', '/admin/users', body);
      assert.equal(response.status, 400, JSON.stringify(body));
      const text = await detail(response);
      assert.match(text, reason);
      assert.ok(!text.includes(USER_PASSWORD));
    }
    assert.equal(await server.portcullis.users.find('bob'), undefined);
  });

  it('shows a user by name, case-insensitively, and 404 for an unknown one', async () => {
    const response = await admin('GET', '/admin/users/ALICE');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(((await response.json()) as PublicUserBody).username, 'Alice');
    const missing = await admin('GET', '/admin/users/nobody');
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { detail: 'No user named "nobody"' });
  });

  it('updates e-mail, full name and scopes, and clears the e-mail with null', async () => {
    let response = await admin('PATCH', '/admin/users/alice', { email: 'liddell@example.org', full_name: 'A. Liddell', scopes: ['me'] });
    assert.equal(response.status, 200);
    let user = (await response.json()) as PublicUserBody;
    assert.equal(user.email, 'liddell@example.org');
    assert.equal(user.full_name, 'A. Liddell');
    assert.deepEqual(user.scopes, ['me']);
    response = await admin('PATCH', '/admin/users/alice', { email: null });
    assert.equal(response.status, 200);
    user = (await response.json()) as PublicUserBody;
    assert.equal(user.email, null);
    assert.equal(user.full_name, 'A. Liddell', 'fields not sent are kept');
    assert.deepEqual((await server.portcullis.users.get('alice')).scopes, ['me']);
  });

  it('returns 400 for an empty or invalid PATCH, and 404 for an unknown user', async () => {
    for (const [body, reason] of [
      [{}, /fewer than 1 propert/],
      [{ password: NEW_PASSWORD }, /Unknown field: password/],
      [{ username: 'renamed' }, /Unknown field: username/],
      [{ email: 'nope' }, /Invalid e-mail address/],
      [{ scopes: [''] }, /scopes/],
      [{ disabled: 1 }, /disabled must be boolean/],
    ] as const) {
      const response = await admin('PATCH', '/admin/users/alice', body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.match(await detail(response), reason);
    }
    const missing = await admin('PATCH', '/admin/users/nobody', { full_name: 'Nobody' });
    assert.equal(missing.status, 404);
  });

  it('disables a user at once: the live access token is refused and login says "Inactive user"', async () => {
    const live = await tokens(server, 'alice', USER_PASSWORD);
    assert.equal(await meStatus(server, live.access), 200);
    const response = await admin('PATCH', '/admin/users/alice', { disabled: true });
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as PublicUserBody).disabled, true);
    const me = await server.fetch('/users/me', { headers: bearer(live.access) });
    assert.equal(me.status, 401);
    assert.equal(me.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
    const granted = await formPost(server, '/token', { username: 'alice', password: USER_PASSWORD });
    assert.equal(granted.status, 401);
    assert.equal(await detail(granted), 'Inactive user');
    assert.equal((await refresh(server, live.refresh)).status, 401, 'the refresh token is refused too');

    const enabled = await admin('PATCH', '/admin/users/alice', { disabled: false });
    assert.equal(enabled.status, 200);
    assert.equal(await meStatus(server, await login(server, 'alice', USER_PASSWORD)), 200);
  });

  it('sets a password: 204, old access and refresh tokens refused, old password refused, new one works', async () => {
    const before = await tokens(server, 'alice', USER_PASSWORD);
    const response = await admin('PUT', '/admin/users/alice/password', { password: NEW_PASSWORD });
    assert.equal(response.status, 204);
    assert.equal(await response.text(), '');
    assert.equal(await meStatus(server, before.access), 401);
    const refreshed = await refresh(server, before.refresh);
    assert.equal(refreshed.status, 401);
    assert.equal(((await refreshed.json()) as { error: string }).error, 'invalid_grant');
    const old = await formPost(server, '/token', { username: 'alice', password: USER_PASSWORD });
    assert.equal(old.status, 401);
    assert.equal(await detail(old), 'Incorrect username or password');
    assert.equal(await meStatus(server, await login(server, 'alice', NEW_PASSWORD)), 200);
  });

  it('refuses a password the policy refuses, and 404 for an unknown user', async () => {
    const weak = await admin('PUT', '/admin/users/alice/password', { password: 'password1' });
    assert.equal(weak.status, 400);
    assert.match(await detail(weak), /too common/);
    const extra = await admin('PUT', '/admin/users/alice/password', { password: NEW_PASSWORD, current_password: 'x' });
    assert.equal(extra.status, 400);
    assert.equal((await admin('PUT', '/admin/users/alice/password', {})).status, 400);
    assert.equal((await admin('PUT', '/admin/users/nobody/password', { password: NEW_PASSWORD })).status, 404);
    assert.equal(await meStatus(server, await login(server, 'alice', NEW_PASSWORD)), 200);
  });

  it('deletes a user: 204, its tokens stop working, and a second delete is 404', async () => {
    await admin('POST', '/admin/users', { username: 'doomed', password: USER_PASSWORD });
    const live = await tokens(server, 'doomed', USER_PASSWORD);
    const response = await admin('DELETE', '/admin/users/doomed');
    assert.equal(response.status, 204);
    assert.equal(await meStatus(server, live.access), 401);
    assert.equal((await refresh(server, live.refresh)).status, 401);
    assert.equal((await admin('GET', '/admin/users/doomed')).status, 404);
    assert.equal((await admin('DELETE', '/admin/users/doomed')).status, 404);
  });
});

describe('GET /admin/users (listing)', () => {
  let server: TestServer;
  let admin: ReturnType<typeof client>;
  // Keys sort as: bob, carl, carla, carlos, caroline, dave, root.
  const DISABLED = new Set(['carla', 'caroline']);

  before(async () => {
    server = await startTestServer();
    await server.portcullis.users.create({ username: 'root', password: ADMIN_PASSWORD, scopes: ['admin'] });
    for (const username of ['Carl', 'carla', 'CARLOS', 'caroline', 'bob', 'dave']) {
      await server.portcullis.users.create({ username, password: USER_PASSWORD, disabled: DISABLED.has(username) });
    }
    const token = await login(server, 'root', ADMIN_PASSWORD);
    admin = client(server, () => token);
  });
  after(() => server.stop());

  async function page(query: string): Promise<{ users: PublicUserBody[]; next: string | null }> {
    const response = await admin('GET', `/admin/users${query}`);
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as { users: PublicUserBody[]; next: string | null };
  }

  /** Every page of a query, following `next`. */
  async function all(query: string, limit: number): Promise<{ names: string[]; pages: number }> {
    const names: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const params = new URLSearchParams(query);
      params.set('limit', String(limit));
      if (after !== null) params.set('after', after);
      const result = await page(`?${params.toString()}`);
      assert.ok(result.users.length <= limit);
      names.push(...result.users.map((user) => user.username));
      after = result.next;
      pages += 1;
    } while (after !== null && pages < 20);
    return { names, pages };
  }

  it('lists every user ordered by name, 50 by default, with next null on the last page', async () => {
    const result = await page('');
    assert.deepEqual(
      result.users.map((user) => user.username),
      ['bob', 'Carl', 'carla', 'CARLOS', 'caroline', 'dave', 'root'],
    );
    assert.equal(result.next, null);
    assert.doesNotMatch(JSON.stringify(result), /hash|password|argon2/i);
  });

  it('pages with limit and after, without gaps or repeats', async () => {
    const first = await page('?limit=3');
    assert.equal(first.users.length, 3);
    assert.equal(typeof first.next, 'string');
    const { names, pages } = await all('', 2);
    assert.deepEqual(names, ['bob', 'Carl', 'carla', 'CARLOS', 'caroline', 'dave', 'root']);
    assert.equal(pages, 4);
  });

  it('filters by prefix, case-insensitively', async () => {
    assert.deepEqual(
      (await page('?prefix=CAR')).users.map((user) => user.username),
      ['Carl', 'carla', 'CARLOS', 'caroline'],
    );
    assert.deepEqual(
      (await page('?prefix=carl')).users.map((user) => user.username),
      ['Carl', 'carla', 'CARLOS'],
    );
    assert.deepEqual((await page('?prefix=zz')).users, []);
    assert.deepEqual((await all('prefix=car', 1)).names, ['Carl', 'carla', 'CARLOS', 'caroline']);
  });

  it('filters by disabled state, alone and with a prefix, across pages', async () => {
    assert.deepEqual(
      (await page('?disabled=true')).users.map((user) => user.username),
      ['carla', 'caroline'],
    );
    assert.deepEqual((await all('disabled=false', 2)).names, ['bob', 'Carl', 'CARLOS', 'dave', 'root']);
    assert.deepEqual((await all('prefix=car&disabled=false', 1)).names, ['Carl', 'CARLOS']);
    assert.deepEqual((await all('prefix=car&disabled=true', 1)).names, ['carla', 'caroline']);
  });

  it('returns 400 for bad query values, saying which', async () => {
    const cases: Array<[string, RegExp]> = [
      ['?limit=0', /limit must be an integer from 1 to 500/],
      ['?limit=501', /limit must be an integer from 1 to 500/],
      ['?limit=ten', /limit must be an integer from 1 to 500/],
      ['?limit=-1', /limit must be an integer from 1 to 500/],
      ['?limit=1.5', /limit must be an integer from 1 to 500/],
      ['?disabled=yes', /disabled must be one of: true, false/],
      ['?disabled=1', /disabled must be one of: true, false/],
      ['?limit=1&limit=2', /limit must be string/],
      ['?sort=name', /Unknown field: sort/],
    ];
    for (const [query, reason] of cases) {
      const response = await admin('GET', `/admin/users${query}`);
      assert.equal(response.status, 400, query);
      assert.match(await detail(response), reason, query);
    }
    assert.equal((await page('?limit=500')).users.length, 7);
  });
});

describe('admin API: sessions', () => {
  let server: TestServer;
  let admin: ReturnType<typeof client>;

  before(async () => {
    server = await startTestServer();
    await server.portcullis.users.create({ username: 'root', password: ADMIN_PASSWORD, scopes: ['admin'] });
    await server.portcullis.users.create({ username: 'alice', password: USER_PASSWORD, scopes: ['me', 'items'] });
    await server.portcullis.users.create({ username: 'bob', password: USER_PASSWORD });
    const token = await login(server, 'root', ADMIN_PASSWORD);
    admin = client(server, () => token);
  });
  after(() => server.stop());

  async function sessionsOf(username: string): Promise<Array<Record<string, unknown>>> {
    const response = await admin('GET', `/admin/users/${username}/sessions`);
    assert.equal(response.status, 200);
    return (await response.json()) as Array<Record<string, unknown>>;
  }

  it("lists a user's active sessions, none marked current, without any token", async () => {
    const first = await tokens(server, 'alice', USER_PASSWORD, 'me');
    const second = await tokens(server, 'alice', USER_PASSWORD);
    const listed = await sessionsOf('ALICE');
    assert.equal(listed.length, 2);
    for (const session of listed) {
      assert.deepEqual(Object.keys(session).sort(), [
        'created_at',
        'current',
        'expires_at',
        'id',
        'idle_expires_at',
        'ip',
        'last_used_at',
        'scope',
        'user_agent',
      ]);
      assert.equal(session.current, false);
    }
    assert.deepEqual(listed.map((session) => session.scope).sort(), ['me', 'me items']);
    const text = JSON.stringify(listed);
    for (const secret of [first.access, first.refresh, second.access, second.refresh, first.refresh.split('.')[1]!]) {
      assert.ok(!text.includes(secret), 'no token in the session list');
    }
    assert.deepEqual(await sessionsOf('bob'), []);
    assert.equal((await admin('GET', '/admin/users/nobody/sessions')).status, 404);
  });

  it('revokes one session: its tokens stop working, the other session keeps working', async () => {
    await admin('DELETE', '/admin/users/alice/sessions');
    const kept = await tokens(server, 'alice', USER_PASSWORD);
    const ended = await tokens(server, 'alice', USER_PASSWORD, 'me');
    const target = (await sessionsOf('alice')).find((session) => session.scope === 'me');
    assert.ok(target);
    const response = await admin('DELETE', `/admin/users/alice/sessions/${String(target.id)}`);
    assert.equal(response.status, 204);
    assert.equal(await meStatus(server, ended.access), 401);
    assert.equal((await refresh(server, ended.refresh)).status, 401);
    assert.equal(await meStatus(server, kept.access), 200);
    assert.equal((await refresh(server, kept.refresh)).status, 200);
    assert.deepEqual(
      (await sessionsOf('alice')).map((session) => session.scope),
      ['me items'],
    );
    // Already ended, unknown, or someone else's: 404.
    assert.equal((await admin('DELETE', `/admin/users/alice/sessions/${String(target.id)}`)).status, 404);
    assert.equal((await admin('DELETE', '/admin/users/alice/sessions/no-such-session')).status, 404);
    const bobs = await tokens(server, 'bob', USER_PASSWORD);
    const bobSession = (await sessionsOf('bob'))[0]!;
    const crossed = await admin('DELETE', `/admin/users/alice/sessions/${String(bobSession.id)}`);
    assert.equal(crossed.status, 404);
    assert.deepEqual(await crossed.json(), { detail: 'No such session' });
    assert.equal(await meStatus(server, bobs.access), 200);
    assert.equal((await admin('DELETE', `/admin/users/nobody/sessions/${String(bobSession.id)}`)).status, 404);
  });

  it("revokes every session of a user, and no one else's", async () => {
    const one = await tokens(server, 'alice', USER_PASSWORD);
    const two = await tokens(server, 'alice', USER_PASSWORD);
    const bobs = await tokens(server, 'bob', USER_PASSWORD);
    const response = await admin('DELETE', '/admin/users/alice/sessions');
    assert.equal(response.status, 204);
    assert.deepEqual(await sessionsOf('alice'), []);
    for (const ended of [one, two]) {
      assert.equal(await meStatus(server, ended.access), 401);
      assert.equal((await refresh(server, ended.refresh)).status, 401);
    }
    assert.equal(await meStatus(server, bobs.access), 200);
    assert.equal((await admin('DELETE', '/admin/users/alice/sessions')).status, 204, 'nothing left to revoke is fine');
    assert.equal((await admin('DELETE', '/admin/users/nobody/sessions')).status, 404);
    // The user can log in again.
    assert.equal(await meStatus(server, await login(server, 'alice', USER_PASSWORD)), 200);
  });
});

describe('GET /admin/audit', () => {
  let server: TestServer;
  let admin: ReturnType<typeof client>;
  const secrets: string[] = [ADMIN_PASSWORD, USER_PASSWORD, NEW_PASSWORD, 'wrong-Password-guess-1'];

  before(async () => {
    server = await startTestServer();
    await server.portcullis.users.create({ username: 'root', password: ADMIN_PASSWORD, scopes: ['admin'] });
    const adminTokens = await tokens(server, 'root', ADMIN_PASSWORD);
    secrets.push(adminTokens.access, adminTokens.refresh);
    admin = client(server, () => adminTokens.access);

    // A history: create, update, disable, enable, sessions, password reset, failed login, removal.
    assert.equal((await admin('POST', '/admin/users', { username: 'alice', password: USER_PASSWORD, scopes: ['me'] })).status, 201);
    assert.equal((await admin('PATCH', '/admin/users/alice', { full_name: 'Alice', scopes: ['me', 'items'] })).status, 200);
    assert.equal((await admin('PATCH', '/admin/users/alice', { disabled: true })).status, 200);
    assert.equal((await admin('PATCH', '/admin/users/alice', { disabled: false })).status, 200);
    const aliceTokens = await tokens(server, 'alice', USER_PASSWORD);
    secrets.push(aliceTokens.access, aliceTokens.refresh);
    const sessionId = String(((await (await admin('GET', '/admin/users/alice/sessions')).json()) as Array<{ id: string }>)[0]!.id);
    assert.equal((await admin('DELETE', `/admin/users/alice/sessions/${sessionId}`)).status, 204);
    const more = await tokens(server, 'alice', USER_PASSWORD);
    secrets.push(more.access, more.refresh);
    assert.equal((await admin('DELETE', '/admin/users/alice/sessions')).status, 204);
    const last = await tokens(server, 'alice', USER_PASSWORD);
    secrets.push(last.access, last.refresh);
    assert.equal((await admin('PUT', '/admin/users/alice/password', { password: NEW_PASSWORD })).status, 204);
    assert.equal((await formPost(server, '/token', { username: 'alice', password: 'wrong-Password-guess-1' })).status, 401);
    assert.equal((await admin('POST', '/admin/users', { username: 'bob', password: USER_PASSWORD })).status, 201);
    assert.equal((await admin('DELETE', '/admin/users/bob')).status, 204);
  });
  after(() => server.stop());

  async function events(query: string): Promise<AuditPageBody> {
    const response = await admin('GET', `/admin/audit${query}`);
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as AuditPageBody;
  }

  function only(page: AuditPageBody, type: string, subject: string): AuditEventBody {
    const found = page.events.filter((event) => event.type === type && event.subject === subject);
    assert.equal(found.length, 1, `${type} ${subject}: ${JSON.stringify(page.events)}`);
    return found[0]!;
  }

  it('records user.created with the admin as actor, and filters by type', async () => {
    const page = await events('?type=user.created');
    assert.ok(page.events.every((event) => event.type === 'user.created'));
    const created = only(page, 'user.created', 'alice');
    assert.equal(created.actor, 'root');
    assert.equal(created.outcome, 'success');
    assert.equal(created.ip, '127.0.0.1');
    assert.equal(created.details.scopes, 'me');
    assert.ok(!Number.isNaN(Date.parse(created.at)));
    assert.equal(only(page, 'user.created', 'bob').actor, 'root');
  });

  it('records updates, disabling and enabling, password resets and removals', async () => {
    const updated = (await events('?type=user.updated&subject=alice')).events;
    assert.equal(updated.length, 3);
    assert.ok(updated.every((event) => event.actor === 'root' && event.outcome === 'success'));
    assert.equal(only(await events('?type=user.disabled'), 'user.disabled', 'alice').actor, 'root');
    assert.equal(only(await events('?type=user.enabled'), 'user.enabled', 'alice').actor, 'root');
    const reset = only(await events('?type=password.changed'), 'password.changed', 'alice');
    assert.equal(reset.actor, 'root');
    assert.equal(reset.outcome, 'success');
    assert.equal(reset.details.sessions_ended, 1);
    assert.equal(only(await events('?type=user.removed'), 'user.removed', 'bob').actor, 'root');
  });

  it('records session revocations by the admin with their reason', async () => {
    const revoked = (await events('?type=session.revoked&subject=alice')).events;
    assert.equal(revoked.length, 2);
    assert.ok(revoked.every((event) => event.actor === 'root' && event.details.reason === 'revoked_by_admin'));
    assert.ok(revoked.some((event) => typeof event.details.session === 'string'));
    assert.ok(revoked.some((event) => event.details.sessions === 1));
  });

  it('filters by actor, subject and outcome', async () => {
    const byRoot = (await events('?actor=root&limit=500')).events;
    assert.ok(byRoot.length >= 9);
    assert.ok(byRoot.every((event) => event.actor === 'root'));
    const failures = (await events('?outcome=failure')).events;
    assert.ok(failures.length >= 1);
    assert.ok(failures.every((event) => event.outcome === 'failure'));
    assert.ok(failures.some((event) => event.type === 'login.failure'));
    const aboutBob = (await events('?subject=bob')).events;
    assert.deepEqual(
      aboutBob.map((event) => event.type),
      ['user.removed', 'user.created'],
    );
    assert.deepEqual((await events('?subject=nobody')).events, []);
  });

  it('lists newest first and pages with before, without gaps or repeats', async () => {
    const everything = (await events('?limit=500')).events;
    assert.ok(everything.length > 10);
    const ids = everything.map((event) => event.id);
    assert.deepEqual(ids, [...ids].sort().reverse());
    for (let i = 1; i < everything.length; i++) {
      assert.ok(Date.parse(everything[i - 1]!.at) >= Date.parse(everything[i]!.at));
    }
    assert.equal(everything.at(-1)!.type, 'user.created', 'the oldest is the first account');
    const paged: string[] = [];
    let before: string | null = null;
    let pages = 0;
    do {
      const page: AuditPageBody = await events(`?limit=4${before === null ? '' : `&before=${encodeURIComponent(before)}`}`);
      assert.ok(page.events.length <= 4);
      paged.push(...page.events.map((event) => event.id));
      before = page.next;
      pages += 1;
    } while (before !== null && pages < 100);
    assert.deepEqual(paged, ids);
    assert.equal((await events('')).events.length, Math.min(50, ids.length));
  });

  it('filters by time with since and until', async () => {
    const everything = (await events('?limit=500')).events;
    const newest = everything[0]!;
    const oldest = everything.at(-1)!;
    assert.deepEqual((await events('?since=2999-01-01')).events, []);
    assert.deepEqual((await events('?until=2000-01-01T00:00:00Z')).events, []);
    const sinceOldest = (await events(`?since=${encodeURIComponent(oldest.at)}&limit=500`)).events;
    assert.equal(sinceOldest.length, everything.length, 'since is inclusive');
    const untilNewest = (await events(`?until=${encodeURIComponent(newest.at)}&limit=500`)).events;
    assert.ok(
      untilNewest.every((event) => Date.parse(event.at) < Date.parse(newest.at)),
      'until is exclusive',
    );
    const window = (await events(`?since=2000-01-01&until=${encodeURIComponent('2999-01-01T00:00:00+02:00')}&limit=500`)).events;
    assert.equal(window.length, everything.length);
  });

  it('returns 400 for bad dates and other bad query values, saying which', async () => {
    const cases: Array<[string, RegExp]> = [
      ['?since=yesterday', /^since must be an ISO 8601 date \(2025-05-01\) or date-time with a time zone/],
      ['?since=2025-02-30', /^since must be an ISO 8601 date/],
      ['?until=2025-05-01T12:00:00', /^until must be an ISO 8601 date/],
      ['?until=1714557600', /^until must be an ISO 8601 date/],
      ['?since=2025-05-02&until=2025-05-01', /since must be earlier than until/],
      ['?outcome=maybe', /outcome must be one of: success, failure/],
      ['?type=user.exploded', /type must be one of: login\.success, .*user\.created/],
      ['?limit=0', /limit must be an integer from 1 to 500/],
      ['?limit=lots', /limit must be an integer from 1 to 500/],
      ['?password=x', /Unknown field: password/],
    ];
    for (const [query, reason] of cases) {
      const response = await admin('GET', `/admin/audit${query}`);
      assert.equal(response.status, 400, query);
      assert.match(await detail(response), reason, query);
    }
  });

  it('never holds a password, hash or token', async () => {
    const response = await admin('GET', '/admin/audit?limit=500');
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const text = await response.text();
    for (const secret of secrets) assert.ok(!text.includes(secret), 'a secret is in the audit log');
    for (const token of secrets.filter((secret) => secret.includes('.'))) {
      for (const part of token.split('.')) if (part.length >= 16) assert.ok(!text.includes(part), 'part of a token is in the audit log');
    }
    assert.doesNotMatch(text, /\$argon2|\$2[aby]\$|password_hash|hashed_password|secret_hash/i);
    const stored = await server.storage.dialect.db.selectFrom('audit_events').selectAll().execute();
    const raw = JSON.stringify(stored);
    for (const secret of secrets) assert.ok(!raw.includes(secret));
    assert.doesNotMatch(raw, /\$argon2/);
  });
});

describe('admin API bodies', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await server.portcullis.users.create({ username: 'root', password: ADMIN_PASSWORD, scopes: ['admin'] });
  });
  after(() => server.stop());

  it('refuses a body that is not JSON with 415 and an oversized one with 413', async () => {
    const token = await login(server, 'root', ADMIN_PASSWORD);
    const form = await server.fetch('/admin/users', {
      method: 'POST',
      headers: { ...bearer(token), 'content-type': 'text/plain' },
      body: 'username=x',
    });
    assert.equal(form.status, 415);
    const huge = await jsonPost(server, '/admin/users', { username: 'big', password: 'x'.repeat(20_000) }, bearer(token));
    assert.equal(huge.status, 413);
  });
});
