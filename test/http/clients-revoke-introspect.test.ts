/**
 * Service clients, RFC 7009 revocation and RFC 7662 introspection end to end
 * over real HTTP and a real SQLite file.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AccessTokenCodec } from '../../src/core/tokens/access-token.js';
import { bearer, formPost, startTestServer, type TestServer } from '../helpers/server.js';
import {
  assertAccessRefused,
  assertRefreshRefused,
  basicAuth,
  claimsOf,
  errorOf,
  formPostWith,
  meStatus,
  passwordLogin,
  refresh,
  refreshOk,
  sessionIdOf,
  sessionRow,
  type Tokens,
} from '../helpers/lifecycle.js';

interface TestClient {
  readonly id: string;
  readonly secret: string;
}

let server: TestServer;
let alpha: TestClient;
let beta: TestClient;

before(async () => {
  server = await startTestServer();
  await server.portcullis.users.create({ username: 'erin', password: 'erin-password-1', scopes: ['me', 'items'] });
  const a = await server.portcullis.clients.create('svc-alpha', ['read', 'write'], 'test');
  const b = await server.portcullis.clients.create('svc-beta', ['read'], 'test');
  alpha = { id: a.client.id, secret: a.secret };
  beta = { id: b.client.id, secret: b.secret };
});
after(() => server.stop());

const asForm = (client: TestClient) => ({ client_id: client.id, client_secret: client.secret });
const login = () => passwordLogin(server, 'erin', 'erin-password-1');

async function assertInvalidClient(response: Response, label: string): Promise<void> {
  const { status, body, www } = await errorOf(response);
  assert.equal(status, 401, label);
  assert.equal(body.error, 'invalid_client', label);
  assert.equal(www, 'Basic', label);
}

function introspect(token: string, auth: Record<string, string> = basicAuth(alpha.id, alpha.secret), hint?: string) {
  return formPostWith(server, '/introspect', { token, ...(hint === undefined ? {} : { token_type_hint: hint }) }, auth);
}

async function introspection(token: string, hint?: string): Promise<Record<string, unknown>> {
  const response = await introspect(token, basicAuth(alpha.id, alpha.secret), hint);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('cache-control'), 'no-store');
  return (await response.json()) as Record<string, unknown>;
}

describe('POST /token grant_type=client_credentials', () => {
  it('authenticates with HTTP Basic and with form fields, and returns no refresh token', async () => {
    for (const [label, fields, headers] of [
      ['basic', {}, basicAuth(alpha.id, alpha.secret)],
      ['form', asForm(alpha), {}],
    ] as const) {
      const response = await formPostWith(server, '/token', { grant_type: 'client_credentials', ...fields }, headers);
      assert.equal(response.status, 200, label);
      assert.equal(response.headers.get('cache-control'), 'no-store', label);
      const body = (await response.json()) as Record<string, unknown>;
      assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type'], label);
      assert.equal(body.scope, 'read write', label);
      const claims = claimsOf(String(body.access_token));
      assert.equal(claims.sub, alpha.id, label);
      assert.equal(claims.client_id, alpha.id, label);
      assert.equal(claims.sid, undefined, label);
    }
  });

  it('narrows the scope to what the client holds', async () => {
    const response = await formPostWith(
      server,
      '/token',
      { grant_type: 'client_credentials', scope: 'read admin me' },
      basicAuth(alpha.id, alpha.secret),
    );
    assert.equal(response.status, 200);
    const body = (await response.json()) as { scope: string; access_token: string };
    assert.equal(body.scope, 'read');
    assert.equal(claimsOf(body.access_token).scope, 'read');
  });

  it('gives a token that GET /users/me refuses with 403: it is not a user', async () => {
    const response = await formPostWith(server, '/token', { grant_type: 'client_credentials' }, basicAuth(alpha.id, alpha.secret));
    const { access_token: token } = (await response.json()) as { access_token: string };
    const me = await server.fetch('/users/me', { headers: bearer(token) });
    assert.equal(me.status, 403);
    assert.equal(me.headers.get('www-authenticate'), 'Bearer error="insufficient_scope"');
    assert.deepEqual(await me.json(), { detail: 'Not enough permissions' });
    assert.equal((await server.fetch('/users/me/sessions', { headers: bearer(token) })).status, 403);
  });

  it('refuses a wrong secret, an unknown client and missing credentials with 401 invalid_client', async () => {
    const grant = { grant_type: 'client_credentials' };
    await assertInvalidClient(await formPostWith(server, '/token', grant, basicAuth(alpha.id, beta.secret)), 'basic, wrong secret');
    await assertInvalidClient(
      await formPostWith(server, '/token', { ...grant, client_id: alpha.id, client_secret: 'nope' }),
      'form, wrong secret',
    );
    await assertInvalidClient(await formPostWith(server, '/token', grant, basicAuth('pc_unknown', alpha.secret)), 'unknown client');
    await assertInvalidClient(await formPostWith(server, '/token', grant), 'no credentials');
    await assertInvalidClient(await formPostWith(server, '/token', { ...grant, client_id: alpha.id }), 'id without secret');
    const failures = (await server.portcullis.audit.list({ limit: 50, type: 'client.auth_failure' })).events;
    assert.ok(failures.length >= 3);
    assert.ok(!JSON.stringify(failures).includes(beta.secret));
  });

  it('refuses HTTP Basic and client_secret together with 400 invalid_request', async () => {
    const { status, body } = await errorOf(
      await formPostWith(server, '/token', { grant_type: 'client_credentials', ...asForm(alpha) }, basicAuth(alpha.id, alpha.secret)),
    );
    assert.equal(status, 400);
    assert.equal(body.error, 'invalid_request');
  });
});

describe('a password login through a confidential client', () => {
  it('binds the session to the client: refreshing needs that client’s credentials', async () => {
    const tokens = await passwordLogin(server, 'erin', 'erin-password-1', { headers: basicAuth(alpha.id, alpha.secret) });
    assert.equal(claimsOf(tokens.access_token).client_id, alpha.id);
    assert.equal(await meStatus(server, tokens.access_token), 200);

    await assertRefreshRefused(server, tokens.refresh_token, 'no client credentials');
    const asBeta = await errorOf(await refresh(server, tokens.refresh_token, {}, basicAuth(beta.id, beta.secret)));
    assert.equal(asBeta.status, 401);
    assert.equal(asBeta.body.error, 'invalid_grant');
    await assertInvalidClient(await refresh(server, tokens.refresh_token, {}, basicAuth(alpha.id, beta.secret)), 'wrong secret');

    const ok = await refresh(server, tokens.refresh_token, asForm(alpha));
    assert.equal(ok.status, 200);
    const next = (await ok.json()) as Tokens;
    assert.equal(claimsOf(next.access_token).client_id, alpha.id);
    assert.equal(await meStatus(server, next.access_token), 200);
  });

  it('ends the sessions of a client when the client is removed', async () => {
    const gamma = await server.portcullis.clients.create('gamma', ['me'], 'test');
    const tokens = await passwordLogin(server, 'erin', 'erin-password-1', {
      headers: basicAuth(gamma.client.id, gamma.secret),
    });
    assert.equal(await meStatus(server, tokens.access_token), 200);
    await server.portcullis.clients.remove('gamma', 'test');
    await assertAccessRefused(server, tokens.access_token, 'session of a removed client');
    assert.equal((await sessionRow(server, sessionIdOf(tokens.access_token)))?.revoked_reason, 'client_removed');
  });

  it('refuses bad client credentials on a password login before anything else', async () => {
    await assertInvalidClient(
      await formPostWith(server, '/token', { username: 'erin', password: 'erin-password-1' }, basicAuth(alpha.id, 'wrong')),
      'password grant with a wrong client secret',
    );
  });
});

describe('POST /revoke', () => {
  const revoke = (token: string | undefined, auth: Record<string, string> = {}, hint?: string) =>
    formPostWith(
      server,
      '/revoke',
      { ...(token === undefined ? {} : { token }), ...(hint === undefined ? {} : { token_type_hint: hint }) },
      auth,
    );

  it('ends the session of a revoked refresh token', async () => {
    const tokens = await login();
    const response = await revoke(tokens.refresh_token, {}, 'refresh_token');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    await assertAccessRefused(server, tokens.access_token, 'access token of the revoked session');
    await assertRefreshRefused(server, tokens.refresh_token, 'revoked refresh token');
    assert.equal((await sessionRow(server, sessionIdOf(tokens.access_token))).revoked_reason, 'token_revoked');
  });

  it('finds a refresh token whatever the hint says (RFC 7009 §2.1)', async () => {
    for (const hint of ['access_token', 'no_such_hint']) {
      const tokens = await login();
      assert.equal((await revoke(tokens.refresh_token, {}, hint)).status, 200, hint);
      await assertAccessRefused(server, tokens.access_token, hint);
      await assertRefreshRefused(server, tokens.refresh_token, hint);
    }
  });

  it('ends the session of a revoked access token, with or without a hint', async () => {
    for (const hint of [undefined, 'access_token', 'refresh_token']) {
      const tokens = await login();
      assert.equal((await revoke(tokens.access_token, {}, hint)).status, 200, String(hint));
      await assertAccessRefused(server, tokens.access_token, String(hint));
      await assertRefreshRefused(server, tokens.refresh_token, String(hint));
    }
  });

  it('answers 200 for unknown and garbage tokens, and 400 when the token is missing', async () => {
    for (const token of ['garbage', `${'A'.repeat(22)}.${'B'.repeat(43)}`, 'a.b.c']) {
      const response = await revoke(token);
      assert.equal(response.status, 200, token);
    }
    const missing = await errorOf(await revoke(undefined));
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error, 'invalid_request');
  });

  it('lets only the client a session is bound to revoke it', async () => {
    const tokens = await passwordLogin(server, 'erin', 'erin-password-1', { fields: asForm(alpha) });
    assert.equal((await revoke(tokens.refresh_token, basicAuth(beta.id, beta.secret))).status, 200);
    assert.equal((await revoke(tokens.access_token, basicAuth(beta.id, beta.secret))).status, 200);
    assert.equal((await revoke(tokens.refresh_token)).status, 200);
    assert.equal(await meStatus(server, tokens.access_token), 200, 'still alive after other clients asked');
    assert.equal((await sessionRow(server, sessionIdOf(tokens.access_token))).revoked_at, null);

    assert.equal((await revoke(tokens.refresh_token, basicAuth(alpha.id, alpha.secret))).status, 200);
    await assertAccessRefused(server, tokens.access_token, 'revoked by its client');
  });

  it('refuses bad client credentials with 401 invalid_client and revokes nothing', async () => {
    const tokens = await login();
    await assertInvalidClient(await revoke(tokens.refresh_token, basicAuth(alpha.id, 'wrong')), 'wrong secret');
    await assertInvalidClient(await revoke(tokens.refresh_token, basicAuth('pc_nobody', 'x')), 'unknown client');
    assert.equal(await meStatus(server, tokens.access_token), 200);
  });
});

describe('POST /introspect', () => {
  it('needs client authentication', async () => {
    const tokens = await login();
    await assertInvalidClient(await introspect(tokens.access_token, {}), 'no client');
    await assertInvalidClient(await introspect(tokens.access_token, basicAuth(alpha.id, 'wrong')), 'wrong secret');
    const bearerOnly = await formPostWith(server, '/introspect', { token: tokens.access_token }, bearer(tokens.access_token));
    await assertInvalidClient(bearerOnly, 'a user bearer token is no client authentication');
  });

  it('describes a live access token', async () => {
    const tokens = await login();
    const claims = claimsOf(tokens.access_token);
    const body = await introspection(tokens.access_token);
    assert.equal(body.active, true);
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.sub, 'erin');
    assert.equal(body.username, 'erin');
    assert.equal(body.scope, 'me items');
    assert.equal(body.sid, sessionIdOf(tokens.access_token));
    assert.equal(body.exp, claims.exp);
    assert.equal(body.iat, claims.iat);
    assert.equal(body.iss, 'http://portcullis.test');
    assert.equal(body.client_id, undefined);
    // Form fields authenticate the introspecting client too.
    const viaForm = await formPost(server, '/introspect', { token: tokens.access_token, ...asForm(beta) });
    assert.equal(((await viaForm.json()) as { active: boolean }).active, true);
  });

  it('describes a live refresh token, and nothing of a retired one', async () => {
    const tokens = await login();
    for (const hint of [undefined, 'refresh_token']) {
      const body = await introspection(tokens.refresh_token, hint);
      assert.equal(body.active, true);
      assert.equal(body.token_type, 'refresh_token');
      assert.equal(body.sub, 'erin');
      assert.equal(body.sid, sessionIdOf(tokens.access_token));
      assert.equal(body.scope, 'me items');
      assert.ok(typeof body.exp === 'number' && body.exp > Date.now() / 1000);
    }
    const next = await refreshOk(server, tokens.refresh_token);
    assert.deepEqual(await introspection(tokens.refresh_token), { active: false });
    assert.equal((await introspection(next.refresh_token)).active, true);
  });

  it('answers exactly {active:false} for revoked, expired and garbage tokens', async () => {
    const tokens = await login();
    const sid = sessionIdOf(tokens.access_token);
    // A token signed with the server's key for the live session, but issued two hours ago.
    const { config } = server;
    const codecAt = (offsetMs: number) =>
      new AccessTokenCodec(
        {
          algorithm: config.algorithm,
          secretKey: config.secretKey,
          issuer: config.issuer,
          audience: config.audience,
          ttlSeconds: 60,
          clockToleranceSeconds: config.clockToleranceSeconds,
        },
        { now: () => Date.now() + offsetMs },
      );
    const binding = { sessionId: sid, tokenVersion: claimsOf(tokens.access_token).ver ?? 0 };
    const fresh = (await codecAt(0).issue('erin', ['me'], binding)).token;
    const expired = (await codecAt(-2 * 3600_000).issue('erin', ['me'], binding)).token;
    assert.equal((await introspection(fresh)).active, true, 'the control token is live');
    assert.deepEqual(await introspection(expired), { active: false });
    assert.equal(await meStatus(server, expired), 401);

    for (const garbage of ['garbage', `${'A'.repeat(22)}.${'B'.repeat(43)}`, `${tokens.access_token}x`]) {
      assert.deepEqual(await introspection(garbage), { active: false }, garbage);
    }

    assert.equal((await server.fetch('/logout', { method: 'POST', headers: bearer(tokens.access_token) })).status, 204);
    assert.deepEqual(await introspection(tokens.access_token), { active: false });
    assert.deepEqual(await introspection(tokens.refresh_token, 'refresh_token'), { active: false });
    assert.deepEqual(await introspection(fresh), { active: false });
  });

  it('describes a client-credentials token with its client_id, until the client is removed', async () => {
    const client = await server.portcullis.clients.create('svc-gamma', ['read'], 'test');
    const response = await formPostWith(server, '/token', { grant_type: 'client_credentials' }, basicAuth(client.client.id, client.secret));
    const { access_token: token } = (await response.json()) as { access_token: string };
    const body = await introspection(token);
    assert.equal(body.active, true);
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.client_id, client.client.id);
    assert.equal(body.sub, client.client.id);
    assert.equal(body.scope, 'read');
    assert.equal(body.sid, undefined);
    assert.equal(body.username, undefined);

    await server.portcullis.clients.remove('svc-gamma', 'test');
    assert.deepEqual(await introspection(token), { active: false });
  });
});
