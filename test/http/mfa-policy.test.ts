/**
 * The MFA policy over HTTP (issue 15, ADR 0024 "Policy"), end to end with the real server and a
 * fixed clock (SQLite, or PostgreSQL with TEST_DATABASE=postgres): MFA_POLICY optional / admins /
 * all, the per-user `mfa_required` flag set by an administrator, enrolment at login (the 401
 * `mfa_required` with `enrolment_required`, POST /mfa/enrol, the mfa grant's first code confirming
 * the factor and answering the recovery codes), and the refusals of /mfa/enrol.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TOTP } from 'otpauth';
import { URI } from 'otpauth';
import type { PublicAuditEvent } from '../../src/core/audit/audit-event.js';
import { fixedClock } from '../../src/core/clock.js';
import { MFA_GRANT } from '../../src/core/portcullis.js';
import { errorOf, formPostWith, meStatus, refreshOk, type Tokens } from '../helpers/lifecycle.js';
import { bearer, formPost, jsonPost, login, startTestServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'correct-horse-battery-1';
const T0 = Date.parse('2026-12-01T09:00:10Z');

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

interface MfaRequired {
  readonly mfa_token: string;
  readonly factors: string[];
  readonly enrolment_required?: boolean;
}

/** The first step of a login that must answer `mfa_required`. */
async function firstStep(server: TestServer, username: string): Promise<MfaRequired> {
  const reply = await errorOf(await formPost(server, '/token', { username, password: PASSWORD }));
  assert.equal(reply.status, 401, JSON.stringify(reply.body));
  assert.equal(reply.body.error, 'mfa_required');
  assert.equal(reply.www, 'Bearer');
  assert.equal(typeof reply.body.mfa_token, 'string');
  assert.equal(reply.body.access_token, undefined);
  return reply.body as unknown as MfaRequired;
}

/** A first step that must be a login needing an enrolment first. */
async function enrolmentStep(server: TestServer, username: string): Promise<string> {
  const challenge = await firstStep(server, username);
  assert.deepEqual(challenge.factors, []);
  assert.equal(challenge.enrolment_required, true);
  return challenge.mfa_token;
}

function mfaGrant(server: TestServer, mfaToken: string, fields: Record<string, string>): Promise<Response> {
  return formPostWith(server, '/token', { grant_type: MFA_GRANT, mfa_token: mfaToken, ...fields });
}

function enrol(server: TestServer, fields: Record<string, string>): Promise<Response> {
  return formPost(server, '/mfa/enrol', fields);
}

/** POST /mfa/enrol that must succeed: the authenticator app's TOTP. */
async function enrolOk(server: TestServer, mfaToken: string): Promise<TOTP> {
  const response = await enrol(server, { mfa_token: mfaToken, name: 'Phone' });
  assert.equal(response.status, 201, await response.clone().text());
  assert.equal(response.headers.get('cache-control'), 'no-store');
  const body = (await response.json()) as { id: string; kind: string; otpauth_uri: string; qr_svg: string };
  assert.equal(body.kind, 'totp');
  assert.match(body.qr_svg, /^<svg[\s\S]*<\/svg>\s*$/);
  return URI.parse(body.otpauth_uri) as TOTP;
}

async function assertPlainLogin(server: TestServer, username: string): Promise<void> {
  const response = await formPost(server, '/token', { username, password: PASSWORD });
  assert.equal(response.status, 200, `${username}: ${await response.clone().text()}`);
}

describe('MFA policy: per-user flag and enrolment at login (MFA_POLICY=optional)', () => {
  const clock = fixedClock(T0);
  let server: TestServer;
  let adminToken: string;

  before(async () => {
    server = await startTestServer({}, { clock });
    await server.portcullis.users.create({ username: 'root', password: PASSWORD, scopes: ['admin', 'me'] });
    for (const name of ['bob', 'carol', 'dave', 'erin']) {
      await server.portcullis.users.create({ username: name, password: PASSWORD, scopes: ['me'] });
    }
    adminToken = await login(server, 'root', PASSWORD);
  });
  after(() => server.stop());

  function patchUser(username: string, body: unknown): Promise<Response> {
    return server.fetch(`/admin/users/${username}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', ...bearer(adminToken) },
      body: JSON.stringify(body),
    });
  }

  it('optional: admins and users log in with the password alone', async () => {
    await assertPlainLogin(server, 'root');
    await assertPlainLogin(server, 'carol');
  });

  it('an administrator sets mfa_required (shown, audited); the login then asks for an enrolment; open sessions keep working', async () => {
    const before = await formPost(server, '/token', { username: 'bob', password: PASSWORD });
    const open = (await before.json()) as Tokens;

    const patched = await patchUser('bob', { mfa_required: true });
    assert.equal(patched.status, 200);
    assert.equal(((await patched.json()) as { mfa_required: boolean }).mfa_required, true);
    const shown = await server.fetch('/admin/users/bob', { headers: bearer(adminToken) });
    assert.equal(((await shown.json()) as { mfa_required: boolean }).mfa_required, true);
    const audit = await server.fetch('/admin/audit?type=user.updated&subject=bob', { headers: bearer(adminToken) });
    const events = ((await audit.json()) as { events: PublicAuditEvent[] }).events;
    assert.ok(
      events.some((event) => event.actor === 'root' && event.details.fields === 'mfa_required' && event.details.mfa_required === true),
      JSON.stringify(events),
    );

    await enrolmentStep(server, 'bob');
    // The policy applies at login: the session opened before keeps working, and refreshes.
    assert.equal(await meStatus(server, open.access_token), 200);
    const refreshed = await refreshOk(server, open.refresh_token!);
    assert.deepEqual(claimsOf(refreshed.access_token).amr, ['pwd']);
  });

  it('enrols at login end to end: /mfa/enrol, the first code completes the login with amr and the recovery codes', async () => {
    const mfaToken = await enrolmentStep(server, 'bob');
    const totp = await enrolOk(server, mfaToken);
    assert.equal(totp.label, 'bob');

    const wrong = await errorOf(await mfaGrant(server, mfaToken, { otp: totp.generate({ timestamp: clock.now() + 10 * 60_000 }) }));
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error, 'invalid_grant');
    assert.match(String(wrong.body.detail), /3 attempts left/, 'the enrolment spent one attempt, the wrong code another');

    const response = await mfaGrant(server, mfaToken, { otp: totp.generate({ timestamp: clock.now() }) });
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const tokens = (await response.json()) as Tokens & { recovery_codes?: string[] };
    assert.equal(tokens.recovery_codes?.length, 10);
    assert.equal(new Set(tokens.recovery_codes).size, 10);
    const claims = claimsOf(tokens.access_token);
    assert.deepEqual(claims.amr, ['pwd', 'otp']);
    assert.equal(claims.acr, 'urn:portcullis:acr:mfa');

    const factors = await server.fetch('/users/me/factors', { headers: bearer(tokens.access_token) });
    const list = (await factors.json()) as { factors: Array<{ name: string }>; recovery_codes_left: number };
    assert.deepEqual(
      list.factors.map((f) => f.name),
      ['Phone'],
    );
    assert.equal(list.recovery_codes_left, 10);

    const used = await errorOf(await enrol(server, { mfa_token: mfaToken }));
    assert.equal(used.status, 400, 'a used mfa_token enrols nothing');
    assert.equal(used.body.error, 'invalid_grant');

    // From now on a normal second step, with the factor and the recovery codes.
    const next = await firstStep(server, 'bob');
    assert.deepEqual(next.factors, ['totp', 'recovery_code']);
    assert.equal(next.enrolment_required, undefined);
    const byCode = await mfaGrant(server, next.mfa_token, { recovery_code: tokens.recovery_codes![0]! });
    assert.equal(byCode.status, 200);
    assert.equal(((await byCode.json()) as { recovery_codes?: string[] }).recovery_codes, undefined, 'codes only with the enrolment');
  });

  it('refuses /mfa/enrol for a user who has a factor (a password thief must not add one)', async () => {
    const challenge = await firstStep(server, 'bob');
    const refused = await errorOf(await enrol(server, { mfa_token: challenge.mfa_token }));
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, 'invalid_grant');
    assert.match(String(refused.body.detail), /has a second factor already/);
    const factors = await server.portcullis.factors.list(await server.portcullis.users.get('bob'));
    assert.equal(factors.length, 1, 'no factor added');
  });

  it('refuses /mfa/enrol with an unknown or expired token, or none', async () => {
    const unknown = await errorOf(await enrol(server, { mfa_token: 'not-a-token' }));
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error, 'invalid_grant');

    const missing = await errorOf(await enrol(server, {}));
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error, 'invalid_request');

    assert.equal((await patchUser('carol', { mfa_required: true })).status, 200);
    const mfaToken = await enrolmentStep(server, 'carol');
    clock.advance(5 * 60_000 + 1);
    const expired = await errorOf(await enrol(server, { mfa_token: mfaToken }));
    assert.equal(expired.status, 400);
    assert.equal(expired.body.error, 'invalid_grant');
  });

  it('takes a JSON body too; a code of a factor not confirmed through the token does not log in', async () => {
    assert.equal((await patchUser('dave', { mfa_required: true })).status, 200);
    const mfaToken = await enrolmentStep(server, 'dave');
    const response = await jsonPost(server, '/mfa/enrol', { mfa_token: mfaToken });
    assert.equal(response.status, 201);
    const totp = URI.parse(((await response.json()) as { otpauth_uri: string }).otpauth_uri) as TOTP;
    // Another login's token was not the one the factor was enrolled with: no enrolment to confirm.
    const other = await enrolmentStep(server, 'dave');
    const refused = await errorOf(await mfaGrant(server, other, { otp: totp.generate({ timestamp: clock.now() }) }));
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, 'invalid_grant');
    const done = await mfaGrant(server, mfaToken, { otp: totp.generate({ timestamp: clock.now() }) });
    assert.equal(done.status, 200);
  });

  it('a user required to have a factor cannot remove the last one; the flag off leaves it to MFA_POLICY', async () => {
    assert.equal((await patchUser('erin', { mfa_required: true })).status, 200);
    const mfaToken = await enrolmentStep(server, 'erin');
    const totp = await enrolOk(server, mfaToken);
    const tokens = (await (await mfaGrant(server, mfaToken, { otp: totp.generate({ timestamp: clock.now() }) })).json()) as Tokens;
    const [factor] = await server.portcullis.factors.list(await server.portcullis.users.get('erin'));
    const remove = () => server.fetch(`/users/me/factors/${factor!.id}`, { method: 'DELETE', headers: bearer(tokens.access_token) });
    const refused = await errorOf(await remove());
    assert.equal(refused.status, 400);
    assert.match(String(refused.body.detail), /required of this account/);

    const cleared = await patchUser('erin', { mfa_required: false });
    assert.equal(((await cleared.json()) as { mfa_required: boolean }).mfa_required, false);
    // Her token was issued before the change: the auth cache was told, the user is read again.
    assert.equal((await remove()).status, 204);
    await assertPlainLogin(server, 'erin');
  });
});

describe('MFA_POLICY=admins', () => {
  const clock = fixedClock(T0);
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ MFA_POLICY: 'admins' }, { clock });
    await server.portcullis.users.create({ username: 'root', password: PASSWORD, scopes: ['admin', 'me'] });
    await server.portcullis.users.create({ username: 'alice', password: PASSWORD, scopes: ['me'] });
    await server.portcullis.users.create({ username: 'flagged', password: PASSWORD, scopes: ['me'], mfaRequired: true });
  });
  after(() => server.stop());

  it('the holders of the admin scope enrol at login, even for a narrower token; other users do not', async () => {
    await enrolmentStep(server, 'root');
    const narrowed = await errorOf(await formPost(server, '/token', { username: 'root', password: PASSWORD, scope: 'me' }));
    assert.equal(narrowed.status, 401);
    assert.equal(narrowed.body.enrolment_required, true);
    await assertPlainLogin(server, 'alice');
  });

  it('the per-user flag (set at creation) adds to the policy', async () => {
    await enrolmentStep(server, 'flagged');
  });

  it('an admin enrolled at login gets admin tokens with amr otp', async () => {
    const mfaToken = await enrolmentStep(server, 'root');
    const totp = await enrolOk(server, mfaToken);
    const response = await mfaGrant(server, mfaToken, { otp: totp.generate({ timestamp: clock.now() }) });
    assert.equal(response.status, 200);
    const tokens = (await response.json()) as Tokens & { recovery_codes?: string[] };
    assert.equal(tokens.scope, 'admin me');
    assert.equal(tokens.recovery_codes?.length, 10);
    assert.deepEqual(claimsOf(tokens.access_token).amr, ['pwd', 'otp']);
  });
});

describe('MFA_POLICY=all', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ MFA_POLICY: 'all' }, { clock: fixedClock(T0) });
    await server.portcullis.users.create({ username: 'alice', password: PASSWORD, scopes: ['me'] });
  });
  after(() => server.stop());

  it('every user enrols at login; a wrong password is still a plain invalid_grant', async () => {
    await enrolmentStep(server, 'alice');
    const wrong = await errorOf(await formPost(server, '/token', { username: 'alice', password: 'not-the-password-1' }));
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error, 'invalid_grant');
    assert.equal(wrong.body.mfa_token, undefined);
  });
});
