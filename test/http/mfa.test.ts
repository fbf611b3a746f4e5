/**
 * Second factors over HTTP (issue 15, ADR 0024), end to end: the real server in this process with a
 * real SQLite file (or PostgreSQL with TEST_DATABASE=postgres) and a fixed clock; TOTP codes are
 * computed here with otpauth from the enrolment's otpauth:// URI, at the server's time. Enrolment,
 * confirmation, the login's `mfa_required` and the mfa grant, replay, the ±1 step window, recovery
 * codes, the attempt limits, the guide's plain client, claims kept by refresh, removal, and no
 * secret in the log.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { TOTP } from 'otpauth';
import { URI } from 'otpauth';
import pino from 'pino';
import { fixedClock } from '../../src/core/clock.js';
import { MFA_GRANT } from '../../src/core/portcullis.js';
import { errorOf, formPostWith, refreshOk, type Tokens } from '../helpers/lifecycle.js';
import { bearer, formPost, jsonPost, signUp, startTestServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'correct-horse-battery-1';
const T0 = Date.parse('2026-12-01T09:00:10Z');

interface Enrolled {
  readonly id: string;
  readonly totp: TOTP;
  readonly recoveryCodes: string[];
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

describe('second factors: TOTP and recovery codes', () => {
  const clock = fixedClock(T0);
  const logLines: string[] = [];
  /** Every secret this suite saw: none may be in the log. */
  const secrets: string[] = [PASSWORD];
  let server: TestServer;

  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(
          ...chunk
            .toString()
            .split('\n')
            .filter((line) => line !== ''),
        );
        done();
      },
    });
    server = await startTestServer({ LOG_LEVEL: 'debug' }, { clock, logger: pino({ level: 'debug' }, sink) });
  });
  after(() => server.stop());

  async function newUser(name: string): Promise<string> {
    assert.equal((await signUp(server, name, PASSWORD)).status, 201);
    const response = await formPost(server, '/token', { username: name, password: PASSWORD });
    assert.equal(response.status, 200);
    return ((await response.json()) as Tokens).access_token;
  }

  async function enrol(token: string): Promise<Enrolled> {
    const started = await jsonPost(server, '/users/me/factors/totp', { current_password: PASSWORD, name: 'Phone' }, bearer(token));
    assert.equal(started.status, 201);
    assert.equal(started.headers.get('cache-control'), 'no-store');
    const body = (await started.json()) as { id: string; kind: string; otpauth_uri: string; qr_svg: string };
    assert.equal(body.kind, 'totp');
    assert.match(body.qr_svg, /^<svg[\s\S]*<\/svg>\s*$/);
    const totp = URI.parse(body.otpauth_uri) as TOTP;
    assert.equal(totp.issuer, 'portcullis.test');
    secrets.push(totp.secret.base32);
    const confirmed = await jsonPost(
      server,
      `/users/me/factors/totp/${body.id}/confirm`,
      { code: totp.generate({ timestamp: clock.now() }) },
      bearer(token),
    );
    assert.equal(confirmed.status, 200);
    const answer = (await confirmed.json()) as { id: string; recovery_codes?: string[] };
    assert.equal(answer.recovery_codes?.length, 10);
    secrets.push(...answer.recovery_codes!);
    return { id: body.id, totp, recoveryCodes: answer.recovery_codes! };
  }

  async function firstStep(username: string): Promise<{ mfa_token: string; factors: string[] }> {
    const response = await formPost(server, '/token', { username, password: PASSWORD });
    const reply = await errorOf(response);
    assert.equal(reply.status, 401, JSON.stringify(reply.body));
    assert.equal(reply.body.error, 'mfa_required');
    assert.equal(typeof reply.body.mfa_token, 'string');
    assert.equal(reply.body.access_token, undefined);
    secrets.push(reply.body.mfa_token as string);
    return reply.body as { mfa_token: string; factors: string[] };
  }

  function mfaGrant(mfaToken: string, fields: Record<string, string>): Promise<Response> {
    return formPostWith(server, '/token', { grant_type: MFA_GRANT, mfa_token: mfaToken, ...fields });
  }

  it('enrols, then a login needs the second step, and the mfa grant gives tokens with amr and acr', async () => {
    const token = await newUser('alice');
    const { totp } = await enrol(token);
    const challenge = await firstStep('alice');
    assert.deepEqual(challenge.factors, ['totp', 'recovery_code']);
    clock.advance(30_000);
    const response = await mfaGrant(challenge.mfa_token, { otp: totp.generate({ timestamp: clock.now() }) });
    assert.equal(response.status, 200);
    const tokens = (await response.json()) as Tokens;
    const claims = claimsOf(tokens.access_token);
    assert.deepEqual(claims.amr, ['pwd', 'otp']);
    assert.equal(claims.acr, 'urn:portcullis:acr:mfa');
    assert.equal(claims.auth_time, Math.floor(clock.now() / 1000));
    assert.equal((await server.fetch('/users/me', { headers: bearer(tokens.access_token) })).status, 200);

    // A refresh keeps how the login was proved, and when.
    clock.advance(60_000);
    const refreshed = claimsOf((await refreshOk(server, tokens.refresh_token)).access_token);
    assert.deepEqual(refreshed.amr, ['pwd', 'otp']);
    assert.equal(refreshed.acr, 'urn:portcullis:acr:mfa');
    assert.equal(refreshed.auth_time, claims.auth_time);

    // The mfa_token was used.
    const again = await errorOf(await mfaGrant(challenge.mfa_token, { otp: totp.generate({ timestamp: clock.now() }) }));
    assert.equal(again.status, 400);
    assert.equal(again.body.error, 'invalid_grant');
  });

  it('a password-only login carries amr pwd', async () => {
    const token = await newUser('plain');
    const claims = claimsOf(token);
    assert.deepEqual(claims.amr, ['pwd']);
    assert.equal(claims.acr, 'urn:portcullis:acr:pwd');
    assert.equal(claims.auth_time, Math.floor(clock.now() / 1000));
  });

  it('refuses a replayed code, accepts ±1 step and refuses ±2', async () => {
    const token = await newUser('bob');
    const { totp } = await enrol(token);
    clock.advance(30_000);
    const code = totp.generate({ timestamp: clock.now() });
    const first = await firstStep('bob');
    assert.equal((await mfaGrant(first.mfa_token, { otp: code })).status, 200);
    const replay = await firstStep('bob');
    const refused = await errorOf(await mfaGrant(replay.mfa_token, { otp: code }));
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, 'invalid_grant');
    assert.match(String(refused.body.detail), /Invalid or used one-time code; 4 attempts left/);

    clock.advance(120_000);
    const far = await firstStep('bob');
    assert.equal((await mfaGrant(far.mfa_token, { otp: totp.generate({ timestamp: clock.now() - 60_000 }) })).status, 400);
    assert.equal((await mfaGrant(far.mfa_token, { otp: totp.generate({ timestamp: clock.now() + 60_000 }) })).status, 400);
    assert.equal((await mfaGrant(far.mfa_token, { otp: totp.generate({ timestamp: clock.now() - 30_000 }) })).status, 200);
    clock.advance(30_000);
    const late = await firstStep('bob');
    assert.equal((await mfaGrant(late.mfa_token, { otp: totp.generate({ timestamp: clock.now() + 30_000 }) })).status, 200);
  });

  it('a recovery code logs in once, and new codes replace the old ones', async () => {
    const token = await newUser('carol');
    const { recoveryCodes } = await enrol(token);
    const step = await firstStep('carol');
    const response = await mfaGrant(step.mfa_token, { recovery_code: recoveryCodes[0]!.toUpperCase() });
    assert.equal(response.status, 200);
    assert.deepEqual(claimsOf(((await response.json()) as Tokens).access_token).amr, ['pwd', 'otp']);
    const reused = await firstStep('carol');
    assert.equal((await mfaGrant(reused.mfa_token, { recovery_code: recoveryCodes[0]! })).status, 400);

    const list = (await (await server.fetch('/users/me/factors', { headers: bearer(token) })).json()) as {
      factors: Array<Record<string, unknown>>;
      recovery_codes_left: number;
    };
    assert.equal(list.recovery_codes_left, 9);
    assert.deepEqual(Object.keys(list.factors[0]!).sort(), ['created_at', 'id', 'kind', 'last_used_at', 'name']);

    const wrong = await jsonPost(server, '/users/me/recovery-codes', { current_password: 'not-it' }, bearer(token));
    assert.equal(wrong.status, 400);
    const fresh = await jsonPost(server, '/users/me/recovery-codes', { current_password: PASSWORD }, bearer(token));
    assert.equal(fresh.status, 200);
    const codes = ((await fresh.json()) as { recovery_codes: string[] }).recovery_codes;
    secrets.push(...codes);
    assert.equal(codes.length, 10);
    assert.equal((await mfaGrant(reused.mfa_token, { recovery_code: recoveryCodes[1]! })).status, 400, 'the old codes are gone');
    assert.equal((await mfaGrant(reused.mfa_token, { recovery_code: codes[0]! })).status, 200);
  });

  it('an mfa_token allows five codes, then it is dead', async () => {
    const token = await newUser('dave');
    const { totp } = await enrol(token);
    const step = await firstStep('dave');
    for (let i = 0; i < 5; i += 1) {
      assert.equal((await mfaGrant(step.mfa_token, { otp: '000000' })).status, 400);
    }
    clock.advance(30_000);
    const dead = await errorOf(await mfaGrant(step.mfa_token, { otp: totp.generate({ timestamp: clock.now() }) }));
    assert.equal(dead.status, 400);
    assert.match(String(dead.body.detail), /mfa_token/);
    // The password step still works: the owner starts over.
    const next = await firstStep('dave');
    assert.equal((await mfaGrant(next.mfa_token, { otp: totp.generate({ timestamp: clock.now() }) })).status, 200);
  });

  it("the account's own bucket bounds codes across mfa_tokens (10 at once), and never the password step", async () => {
    const token = await newUser('ivan');
    const { totp } = await enrol(token);
    for (let round = 0; round < 2; round += 1) {
      const step = await firstStep('ivan');
      for (let i = 0; i < 5; i += 1) assert.equal((await mfaGrant(step.mfa_token, { otp: '000000' })).status, 400);
    }
    const third = await firstStep('ivan');
    const limited = await mfaGrant(third.mfa_token, { otp: totp.generate({ timestamp: clock.now() }) });
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    // The password step is not refused: only the codes wait (one every 10 minutes).
    clock.advance(10 * 60_000);
    const later = await firstStep('ivan');
    assert.equal((await mfaGrant(later.mfa_token, { otp: totp.generate({ timestamp: clock.now() }) })).status, 200);
  });

  it('an mfa_token expires after five minutes and dies with a password change', async () => {
    const token = await newUser('erin');
    const { totp } = await enrol(token);
    const step = await firstStep('erin');
    clock.advance(5 * 60_000 + 1000);
    assert.equal((await mfaGrant(step.mfa_token, { otp: totp.generate({ timestamp: clock.now() }) })).status, 400);
    const before = await firstStep('erin');
    const changed = await server.fetch('/users/me/password', {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...bearer(token) },
      body: JSON.stringify({ current_password: PASSWORD, new_password: `${PASSWORD}-new` }),
    });
    assert.equal(changed.status, 204);
    clock.advance(30_000);
    assert.equal((await mfaGrant(before.mfa_token, { otp: totp.generate({ timestamp: clock.now() }) })).status, 400);
  });

  it("the guide's plain client gets the documented 401 mfa_required", async () => {
    const token = await newUser('frank');
    await enrol(token);
    const response = await formPost(server, '/token', { username: 'frank', password: PASSWORD });
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(response.headers.get('www-authenticate'), 'Bearer');
    const body = (await response.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['detail', 'error', 'error_description', 'factors', 'mfa_token']);
    assert.equal(body.error, 'mfa_required');
    assert.equal(body.detail, body.error_description);
    secrets.push(body.mfa_token as string);
  });

  it('the mfa grant needs exactly one of otp and recovery_code, and an mfa_token', async () => {
    assert.equal((await formPost(server, '/token', { grant_type: MFA_GRANT, otp: '123456' })).status, 400);
    const both = await errorOf(await formPost(server, '/token', { grant_type: MFA_GRANT, mfa_token: 'x', otp: '1', recovery_code: '2' }));
    assert.equal(both.status, 400);
    assert.equal(both.body.error, 'invalid_request');
    const unknown = await errorOf(await formPost(server, '/token', { grant_type: MFA_GRANT, mfa_token: 'unknown', otp: '123456' }));
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error, 'invalid_grant');
  });

  it('removing the last factor needs a fresh login, then logins are one step again', async () => {
    const token = await newUser('gina');
    const { id, totp } = await enrol(token);
    clock.advance(6 * 60_000);
    const stale = await server.fetch(`/users/me/factors/${id}`, { method: 'DELETE', headers: bearer(token) });
    assert.equal(stale.status, 401);
    assert.equal(
      stale.headers.get('www-authenticate'),
      'Bearer error="insufficient_user_authentication", error_description="Removing the last second factor needs a fresh login", max_age=300',
    );
    const step = await firstStep('gina');
    const fresh = ((await (await mfaGrant(step.mfa_token, { otp: totp.generate({ timestamp: clock.now() }) })).json()) as Tokens)
      .access_token;
    assert.equal((await server.fetch(`/users/me/factors/${id}`, { method: 'DELETE', headers: bearer(fresh) })).status, 204);
    const list = (await (await server.fetch('/users/me/factors', { headers: bearer(fresh) })).json()) as Record<string, unknown>;
    assert.deepEqual(list, { factors: [], recovery_codes_left: 0 });
    assert.equal((await formPost(server, '/token', { username: 'gina', password: PASSWORD })).status, 200);
  });

  it("a factor can be renamed; a pending one, another user's or an empty name cannot", async () => {
    const token = await newUser('ivy');
    const { id } = await enrol(token);
    const rename = (factor: string, body: unknown, as = token) =>
      server.fetch(`/users/me/factors/${factor}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', ...bearer(as) },
        body: JSON.stringify(body),
      });
    const renamed = await rename(id, { name: '  Work phone ' });
    assert.equal(renamed.status, 200);
    const factor = (await renamed.json()) as Record<string, unknown>;
    assert.equal(factor.name, 'Work phone');
    assert.equal(factor.kind, 'totp');
    const list = (await (await server.fetch('/users/me/factors', { headers: bearer(token) })).json()) as { factors: { name: string }[] };
    assert.deepEqual(
      list.factors.map((f) => f.name),
      ['Work phone'],
    );
    assert.equal((await rename(id, { name: '   ' })).status, 400);
    assert.equal((await rename(id, {})).status, 400);
    const other = await newUser('jack');
    assert.equal((await rename(id, { name: 'Mine now' }, other)).status, 404, "another user's factor");
    const pending = await jsonPost(server, '/users/me/factors/totp', { current_password: PASSWORD }, bearer(other));
    const pendingId = ((await pending.json()) as { id: string; otpauth_uri: string }).id;
    assert.equal((await rename(pendingId, { name: 'Pending' }, other)).status, 404, 'a pending factor');
  });

  it('enrolment needs the current password; a pending factor does not change the login', async () => {
    const token = await newUser('hank');
    const wrong = await jsonPost(server, '/users/me/factors/totp', { current_password: 'nope' }, bearer(token));
    assert.equal(wrong.status, 400);
    const pending = await jsonPost(server, '/users/me/factors/totp', { current_password: PASSWORD }, bearer(token));
    assert.equal(pending.status, 201);
    secrets.push(((await pending.json()) as { otpauth_uri: string }).otpauth_uri);
    assert.equal((await formPost(server, '/token', { username: 'hank', password: PASSWORD })).status, 200);
    const badCode = await jsonPost(server, '/users/me/factors/totp/nope/confirm', { code: '123456' }, bearer(token));
    assert.equal(badCode.status, 404);
  });

  it('never logs a secret', () => {
    assert.ok(logLines.length > 0);
    const log = logLines.join('\n');
    for (const secret of secrets) assert.ok(!log.includes(secret), 'a secret in the log');
  });
});
