import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { deadUrl, makeSigningKey, mintToken } from '../../test/helpers/key-server.js';
import { createVerifier, portcullisVerifier } from './index.js';

const SECRET = new TextEncoder().encode('test-secret-key-that-is-long-enough-0123456789');
const ISSUER = 'http://portcullis.test';

function token(claims: Record<string, unknown> = {}): Promise<string> {
  return mintToken({ alg: 'HS256', secret: SECRET }, { issuer: ISSUER, claims });
}

describe('portcullisVerifier (Fastify plugin)', () => {
  let app: FastifyInstance;

  before(async () => {
    app = Fastify();
    await app.register(portcullisVerifier, { secret: SECRET, issuer: ISSUER });
    // A route in an encapsulated child context uses the root's decorators.
    await app.register(async (child) => {
      child.get('/items', { preHandler: child.requireAuth(['items']) }, async (request) => ({ owner: request.verifiedToken!.sub }));
    });
    app.get('/me', { preHandler: app.requireAuth() }, async (request) => ({
      sub: request.verifiedToken!.sub,
      scope: request.verifiedToken!.scope,
    }));
    app.get('/open', async (request) => ({ auth: request.verifiedToken ?? null }));
    await app.ready();
  });
  after(() => app.close());

  it('decorates the app that registers it (no encapsulation)', () => {
    assert.ok(app.hasDecorator('requireAuth'));
    assert.ok(app.hasRequestDecorator('verifiedToken'));
    assert.throws(() => app.requireAuth(['not a scope']), TypeError);
  });

  it('leaves routes without the preHandler alone', async () => {
    const response = await app.inject({ url: '/open' });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { auth: null });
  });

  it('answers 401 Not authenticated without a token', async () => {
    const response = await app.inject({ url: '/me' });
    assert.equal(response.statusCode, 401);
    assert.deepEqual(response.json(), { detail: 'Not authenticated' });
    assert.equal(response.headers['www-authenticate'], 'Bearer');
    assert.match(String(response.headers['content-type']), /^application\/json/);
  });

  it('answers 401 invalid_token for a bad token', async () => {
    const bad = `${await token()}x`;
    const response = await app.inject({ url: '/me', headers: { authorization: `Bearer ${bad}` } });
    assert.equal(response.statusCode, 401);
    assert.deepEqual(response.json(), { detail: 'Could not validate credentials' });
    assert.equal(response.headers['www-authenticate'], 'Bearer error="invalid_token"');
  });

  it('answers 403 with the scope needed when the token lacks it', async () => {
    const response = await app.inject({ url: '/items', headers: { authorization: `Bearer ${await token({ scope: 'me' })}` } });
    assert.equal(response.statusCode, 403);
    assert.deepEqual(response.json(), { detail: 'Not enough permissions' });
    assert.equal(response.headers['www-authenticate'], 'Bearer error="insufficient_scope", scope="items"');
  });

  it('sets request.verifiedToken for a valid token', async () => {
    const authorization = `Bearer ${await token({ scope: 'me items' })}`;
    const me = await app.inject({ url: '/me', headers: { authorization } });
    assert.equal(me.statusCode, 200);
    assert.deepEqual(me.json(), { sub: 'alice', scope: ['me', 'items'] });
    const items = await app.inject({ url: '/items', headers: { authorization } });
    assert.equal(items.statusCode, 200);
    assert.deepEqual(items.json(), { owner: 'alice' });
  });

  it('answers 503 when the keys cannot be fetched, and takes a verifier already made', async () => {
    const down = Fastify();
    const verifier = createVerifier({ jwksUri: `${await deadUrl()}/jwks.json`, issuer: ISSUER });
    await down.register(portcullisVerifier, { verifier });
    down.get('/me', { preHandler: down.requireAuth() }, async () => ({}));
    const key = await makeSigningKey('EdDSA');
    const response = await down.inject({ url: '/me', headers: { authorization: `Bearer ${await mintToken(key, { issuer: ISSUER })}` } });
    assert.equal(response.statusCode, 503);
    assert.deepEqual(response.json(), { detail: 'Service temporarily unavailable' });
    assert.equal(response.headers['retry-after'], '1');
    await down.close();
  });

  it('answers 503 while its revocation feed cannot be reached, logging that through the app', async () => {
    const lines: string[] = [];
    const stream = { write: (line: string) => void lines.push(line) };
    const down = Fastify({ logger: { level: 'warn', stream } });
    await down.register(portcullisVerifier, {
      secret: SECRET,
      issuer: ISSUER,
      revocations: { url: `${await deadUrl()}/revocations`, clientId: 'pc_rs', clientSecret: 'secret' },
    });
    down.get('/me', { preHandler: down.requireAuth() }, async () => ({}));
    const response = await down.inject({ url: '/me', headers: { authorization: `Bearer ${await token({ sid: 's1', ver: 0 })}` } });
    assert.equal(response.statusCode, 503);
    assert.deepEqual(response.json(), { detail: 'Service temporarily unavailable' });
    assert.equal(response.headers['retry-after'], '1');
    const messages = lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
    assert.ok(
      messages.some((message) => /the revocation feed failed/.test(message)),
      messages.join('\n'),
    );
    await down.close();
  });

  it('fails registration on bad options', async () => {
    const bad = Fastify();
    await assert.rejects(async () => {
      await bad.register(portcullisVerifier, { secret: 'short', issuer: ISSUER });
      await bad.ready();
    }, TypeError);
    await bad.close();
  });
});
