/** Bearer authentication over HTTP: forged, expired and orphaned tokens are all 401 invalid_token. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT, UnsecuredJWT, generateKeyPair, exportJWK } from 'jose';
import { bearer, login, startTestServer, TEST_SECRET_KEY, type TestServer } from '../helpers/server.js';

const secret = new TextEncoder().encode(TEST_SECRET_KEY);
const ISSUER = 'http://portcullis.test';

/** The session claims of a real login; forged tokens reuse them so that only the forged part differs. */
let session: { sid: string; ver: number } = { sid: '', ver: 0 };

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { sub: 'alice', scope: '', iss: ISSUER, iat: now, nbf: now, exp: now + 600, jti: crypto.randomUUID(), ...session, ...overrides };
}

async function sign(payload: Record<string, unknown>, header: Record<string, unknown> = {}, key: Uint8Array = secret) {
  return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', ...header } as never).sign(key);
}

async function expectInvalid(server: TestServer, token: string, label: string): Promise<void> {
  const response = await server.fetch('/users/me', { headers: bearer(token) });
  assert.equal(response.status, 401, label);
  assert.equal(response.headers.get('www-authenticate'), 'Bearer error="invalid_token"', label);
  assert.deepEqual(await response.json(), { detail: 'Could not validate credentials' }, label);
}

describe('GET /users/me authentication', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await server.portcullis.users.create({ username: 'alice', password: 'alice-password-1' });
    const real = await login(server, 'alice', 'alice-password-1');
    const payload = JSON.parse(Buffer.from(real.split('.')[1]!, 'base64url').toString()) as { sid: string; ver: number };
    session = { sid: payload.sid, ver: payload.ver };
  });
  after(() => server.stop());

  it('refuses a well-signed token without a session or for another session', async () => {
    const { sid: _sid, ...withoutSession } = claims();
    await expectInvalid(server, await sign(withoutSession), 'no sid');
    await expectInvalid(server, await sign(claims({ sid: 'AAAAAAAAAAAAAAAAAAAAAA' })), 'unknown sid');
    await expectInvalid(server, await sign(claims({ ver: 1 })), 'other token version');
  });

  it('accepts a token made independently with the same key and claims', async () => {
    const response = await server.fetch('/users/me', { headers: bearer(await sign(claims())) });
    assert.equal(response.status, 200);
  });

  it('refuses alg none, other HMAC sizes, embedded jwk, unknown crit and tampering', async () => {
    const unsecured = new UnsecuredJWT(claims()).encode();
    await expectInvalid(server, unsecured, 'alg none');
    const noneTyped = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}.`;
    await expectInvalid(server, noneTyped, 'alg none with typ');
    for (const alg of ['HS384', 'HS512']) {
      await expectInvalid(server, await new SignJWT(claims()).setProtectedHeader({ alg, typ: 'at+jwt' }).sign(secret), alg);
    }
    const attacker = await generateKeyPair('ES256');
    const jwk = await exportJWK(attacker.publicKey);
    const embedded = await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', jwk }).sign(attacker.privateKey);
    await expectInvalid(server, embedded, 'embedded jwk, ES256');
    const attackerSecret = crypto.getRandomValues(new Uint8Array(32));
    await expectInvalid(
      server,
      await sign(claims(), { jwk: { kty: 'oct', k: Buffer.from(attackerSecret).toString('base64url') } }, attackerSecret),
      'embedded oct jwk',
    );
    const crit = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', crit: ['x-unknown'], 'x-unknown': true } as never)
      .sign(secret, { crit: { 'x-unknown': true } });
    await expectInvalid(server, crit, 'unknown crit');

    const good = await sign(claims());
    const [h, p, s] = good.split('.') as [string, string, string];
    const flipped = s.slice(0, 10) + (s[10] === 'A' ? 'B' : 'A') + s.slice(11);
    await expectInvalid(server, `${h}.${p}.${flipped}`, 'flipped signature');
    const forgedPayload = Buffer.from(JSON.stringify(claims({ sub: 'admin', scope: 'admin' }))).toString('base64url');
    await expectInvalid(server, `${h}.${forgedPayload}.${s}`, 'tampered payload');
    await expectInvalid(server, await sign(claims(), {}, crypto.getRandomValues(new Uint8Array(32))), 'other key');
  });

  it('refuses expired, not-yet-valid, wrong-issuer, wrong-typ and incomplete tokens', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectInvalid(server, await sign(claims({ iat: now - 4000, nbf: now - 4000, exp: now - 60 })), 'expired');
    await expectInvalid(server, await sign(claims({ nbf: now + 120 })), 'not yet valid');
    await expectInvalid(server, await sign(claims({ iss: 'http://evil.test' })), 'wrong iss');
    await expectInvalid(server, await sign(claims(), { typ: 'JWT' }), 'typ JWT');
    const { jti: _jti, ...withoutJti } = claims();
    await expectInvalid(server, await sign(withoutJti), 'no jti');
    await expectInvalid(server, await sign(claims({ sub: 42 })), 'numeric sub');
  });

  it('tolerates a few seconds of clock skew but no more', async () => {
    const now = Math.floor(Date.now() / 1000);
    const response = await server.fetch('/users/me', { headers: bearer(await sign(claims({ exp: now - 2 }))) });
    assert.equal(response.status, 200);
  });

  it('treats other schemes and empty or oversized credentials correctly', async () => {
    const cases: Array<[string, number, string]> = [
      ['Basic YWxpY2U6cGFzcw==', 401, 'Not authenticated'],
      ['Bearer', 401, 'Not authenticated'],
      ['Bearer ', 401, 'Not authenticated'],
      ['Token abc', 401, 'Not authenticated'],
      ['Bearer not a token', 401, 'Could not validate credentials'],
      [`Bearer ${'a'.repeat(5000)}`, 401, 'Could not validate credentials'],
    ];
    for (const [authorization, status, detail] of cases) {
      const response = await server.fetch('/users/me', { headers: { authorization } });
      assert.equal(response.status, status, authorization.slice(0, 20));
      assert.equal(((await response.json()) as { detail: string }).detail, detail, authorization.slice(0, 20));
    }
    const token = await login(server, 'alice', 'alice-password-1');
    assert.equal((await server.fetch('/users/me', { headers: { authorization: `bearer ${token}` } })).status, 200);
  });

  it("stops accepting a disabled user's tokens, also after the account is enabled again", async () => {
    const token = await login(server, 'alice', 'alice-password-1');
    await server.portcullis.users.setDisabled('alice', true);
    await expectInvalid(server, token, 'disabled');
    await server.portcullis.users.setDisabled('alice', false);
    await expectInvalid(server, token, 're-enabled');
    const fresh = await login(server, 'alice', 'alice-password-1');
    assert.equal((await server.fetch('/users/me', { headers: bearer(fresh) })).status, 200);
  });

  it('refuses the tokens of a removed user, also after the name is registered again', async () => {
    await server.portcullis.users.create({ username: 'dave', password: 'dave-password-1' });
    const token = await login(server, 'dave', 'dave-password-1');
    await server.portcullis.users.remove('dave');
    await expectInvalid(server, token, 'removed');
    // A second later the name is taken again by someone else; the old token must not work for them.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await server.portcullis.users.create({ username: 'dave', password: 'new-dave-password' });
    await expectInvalid(server, token, 're-registered');
  });
});
