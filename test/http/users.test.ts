/** POST /users (sign-up) and GET /users/me as API.md describes them. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, login, signUp, startTestServer, type TestServer } from '../helpers/server.js';

describe('POST /users', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  it('creates a user and returns it with 201, without any hash', async () => {
    const response = await signUp(server, 'Bob.Smith', 'a perfectly fine passphrase', {
      email: 'bob@example.com',
      full_name: '  Bob Smith ',
    });
    assert.equal(response.status, 201);
    const text = await response.text();
    const user = JSON.parse(text) as Record<string, unknown>;
    assert.equal(user.username, 'Bob.Smith');
    assert.equal(user.email, 'bob@example.com');
    assert.equal(user.full_name, 'Bob Smith');
    assert.equal(user.disabled, false);
    assert.deepEqual(user.scopes, []);
    assert.ok(!Number.isNaN(Date.parse(String(user.created_at))));
    assert.doesNotMatch(text, /argon2|\$2[aby]\$|password/i);
    const token = await login(server, 'bob.smith', 'a perfectly fine passphrase');
    assert.equal((await server.fetch('/users/me', { headers: bearer(token) })).status, 200);
  });

  it('returns 409 for a name that differs only in case or width', async () => {
    assert.equal((await signUp(server, 'carol', 'carol-password-1')).status, 201);
    for (const name of ['carol', 'CAROL', 'ｃａｒｏｌ']) {
      const response = await signUp(server, name, 'carol-password-2');
      assert.equal(response.status, 409, name);
      assert.deepEqual(await response.json(), { detail: 'Username already registered' });
    }
  });

  it('gives exactly one 201 and fifteen 409s for 16 simultaneous sign-ups of one name', async () => {
    const responses = await Promise.all(
      Array.from({ length: 16 }, (_, i) => signUp(server, i % 2 ? 'Racer' : 'racer', `racing-password-${i}`)),
    );
    const statuses = responses.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, ...Array<number>(15).fill(409)]);
    const rows = await server.storage.dialect.db.selectFrom('users').select('username').where('username_key', '=', 'racer').execute();
    assert.equal(rows.length, 1);
  });

  it('returns 400 for invalid usernames', async () => {
    for (const name of ['ab', 'x'.repeat(65), 'has space', 'semi;colon', 'tab\tname', '']) {
      const response = await signUp(server, name, 'valid-password-123');
      assert.equal(response.status, 400, JSON.stringify(name));
      assert.equal(typeof ((await response.json()) as { detail: string }).detail, 'string');
    }
  });

  it('returns 400 for an invalid e-mail address', async () => {
    for (const email of ['not-an-email', 'a@b', 'a@@example.com', `${'x'.repeat(250)}@example.com`]) {
      const response = await signUp(server, 'emailtest', 'valid-password-123', { email });
      assert.equal(response.status, 400, email);
      assert.deepEqual(await response.json(), { detail: 'Invalid e-mail address' });
    }
  });

  it('returns 400 for passwords the policy refuses, saying why', async () => {
    const cases: Array<[string, RegExp]> = [
      ['short', /at least 8 characters/],
      ['password1', /too common/],
      ['12345678', /too common/],
      ['policytest', /must not be the username/],
      ['x'.repeat(1025), /at most 1024/],
    ];
    for (const [password, reason] of cases) {
      const response = await signUp(server, 'policytest', password);
      assert.equal(response.status, 400, password.slice(0, 20));
      const body = (await response.json()) as { detail: string };
      assert.match(body.detail, reason);
      assert.ok(!body.detail.includes(password), 'the password is not echoed');
    }
  });

  it('accepts a long passphrase of any characters, with no composition rules', async () => {
    const response = await signUp(server, 'unicode', 'ünïcødé pässwörd 🔐 with spaces');
    assert.equal(response.status, 201);
    assert.ok(await login(server, 'unicode', 'ünïcødé pässwörd 🔐 with spaces'));
  });

  it('refuses fields a client may not set, such as scopes or disabled', async () => {
    for (const extra of [{ scopes: ['admin'] }, { disabled: false }, { hashed_password: 'x' }]) {
      const response = await signUp(server, 'sneaky', 'valid-password-123', extra);
      assert.equal(response.status, 400);
      assert.match(((await response.json()) as { detail: string }).detail, /Unknown field/);
    }
  });
});

describe('POST /users with REGISTRATION=closed', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ REGISTRATION: 'closed' });
  });
  after(() => server.stop());

  it('returns 403 and creates nothing', async () => {
    const response = await signUp(server, 'newcomer', 'valid-password-123');
    assert.equal(response.status, 403);
    assert.deepEqual(await response.json(), { detail: 'Registration is closed' });
    assert.equal(await server.portcullis.users.find('newcomer'), undefined);
  });
});

describe('POST /users in production', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ NODE_ENV: 'production' });
  });
  after(() => server.stop());

  it('is closed by default', async () => {
    assert.equal((await signUp(server, 'newcomer', 'valid-password-123')).status, 403);
  });
});
