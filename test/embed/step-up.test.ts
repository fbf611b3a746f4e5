/**
 * The embedded guards' step-up (RFC 9470): `requireAuth({ mfa: true })` and `requireAuth({ maxAge })`
 * on a host's routes, with the portcullis Fastify plugin on the host's own SQLite connection. A TOTP
 * factor is enrolled over the plugin's routes and the login finished with the mfa grant; a login's
 * age is set in the database and carried into a token by a refresh (which keeps auth_time), so no
 * test waits on the clock.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import Fastify, { type FastifyInstance } from 'fastify';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { URI, type TOTP } from 'otpauth';
import { MFA_GRANT, portcullis } from '../../src/index.js';
import { makeTempDir, TEST_SECRET_KEY } from '../helpers/server.js';

const PASSWORD = 'correct horse battery';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('requireAuth({ mfa, maxAge }) in a host app', () => {
  let app: FastifyInstance;
  let kysely: Kysely<unknown>;

  before(async () => {
    kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new BetterSqlite3(join(makeTempDir(), 'host.db')) }) });
    app = Fastify();
    await app.register(portcullis, { prefix: '/auth', secretKey: TEST_SECRET_KEY, database: { kysely, dialect: 'sqlite' } });
    app.get('/payments', { preHandler: app.portcullis.requireAuth({ mfa: true }) }, async (request) => ({ user: request.user!.username }));
    app.get('/settings', { preHandler: app.portcullis.requireAuth({ maxAge: 300 }) }, async () => ({ ok: true }));
    await app.ready();
  });
  after(async () => {
    await app.close();
    await kysely.destroy();
  });

  async function token(fields: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await app.inject({
      method: 'POST',
      url: '/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(fields).toString(),
    });
    return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
  }

  it('a password-only login is refused where MFA is required, and an MFA login is let through', async () => {
    assert.equal(
      (await app.inject({ method: 'POST', url: '/auth/users', payload: { username: 'alice', password: PASSWORD } })).statusCode,
      201,
    );
    const plain = await token({ username: 'alice', password: PASSWORD });
    assert.equal(plain.status, 200);
    const access = plain.body.access_token as string;

    const refused = await app.inject({ url: '/payments', headers: bearer(access) });
    assert.equal(refused.statusCode, 401);
    assert.equal(
      refused.headers['www-authenticate'],
      'Bearer error="insufficient_user_authentication", error_description="A login with a second factor is required", ' +
        'acr_values="urn:portcullis:acr:mfa"',
    );
    assert.equal(refused.json<Record<string, unknown>>().error, 'insufficient_user_authentication');

    const started = await app.inject({
      method: 'POST',
      url: '/auth/users/me/factors/totp',
      headers: bearer(access),
      payload: { current_password: PASSWORD },
    });
    assert.equal(started.statusCode, 201);
    const { id, otpauth_uri: uri } = started.json<{ id: string; otpauth_uri: string }>();
    const totp = URI.parse(uri) as TOTP;
    // The server's clock is the system's: a code of now is within its ±1 step whenever it is checked.
    const confirmed = await app.inject({
      method: 'POST',
      url: `/auth/users/me/factors/totp/${id}/confirm`,
      headers: bearer(access),
      payload: { code: totp.generate() },
    });
    assert.equal(confirmed.statusCode, 200);
    const recovery = confirmed.json<{ recovery_codes: string[] }>().recovery_codes;

    const first = await token({ username: 'alice', password: PASSWORD });
    assert.equal(first.status, 401);
    assert.equal(first.body.error, 'mfa_required');
    // A recovery code: a TOTP code of this step was used by the confirmation.
    const second = await token({ grant_type: MFA_GRANT, mfa_token: first.body.mfa_token as string, recovery_code: recovery[0]! });
    assert.equal(second.status, 200);
    const allowed = await app.inject({ url: '/payments', headers: bearer(second.body.access_token as string) });
    assert.equal(allowed.statusCode, 200);
    assert.deepEqual(allowed.json(), { user: 'alice' });
  });

  it('maxAge refuses a login older than it, with max_age, and lets a recent one through', async () => {
    assert.equal(
      (await app.inject({ method: 'POST', url: '/auth/users', payload: { username: 'bob', password: PASSWORD } })).statusCode,
      201,
    );
    const login = await token({ username: 'bob', password: PASSWORD });
    assert.equal((await app.inject({ url: '/settings', headers: bearer(login.body.access_token as string) })).statusCode, 200);

    // The login was an hour ago: the next refresh's token says so (a refresh keeps auth_time).
    await sql`update sessions set auth_time = ${new Date(Date.now() - 3_600_000).toISOString()}`.execute(kysely);
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: login.body.refresh_token as string });
    assert.equal(refreshed.status, 200);
    const stale = await app.inject({ url: '/settings', headers: bearer(refreshed.body.access_token as string) });
    assert.equal(stale.statusCode, 401);
    assert.equal(
      stale.headers['www-authenticate'],
      'Bearer error="insufficient_user_authentication", error_description="A more recent login is required", max_age=300',
    );
    assert.equal(stale.json<Record<string, unknown>>().max_age, 300);
  });

  it('refuses a bad maxAge where the route is declared', () => {
    assert.throws(() => app.portcullis.requireAuth({ maxAge: -1 }), TypeError);
  });
});
