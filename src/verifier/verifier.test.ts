import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { SignJWT, exportSPKI, importJWK, type CryptoKey, type JWK } from 'jose';
import {
  deadUrl,
  makeSigningKey,
  mintToken,
  sleep,
  startKeyServer,
  type KeyServer,
  type SigningAlgorithm,
  type SigningKey,
} from '../../test/helpers/key-server.js';
import {
  createVerifier,
  InsufficientScopeError,
  InvalidTokenError,
  JwksUnavailableError,
  NoTokenError,
  VerifierError,
  type Verifier,
} from './index.js';

const ALGORITHMS: readonly SigningAlgorithm[] = ['EdDSA', 'ES256', 'RS256', 'PS256'];
const SECRET = 'test-secret-key-that-is-long-enough-0123456789';
const SECRET_BYTES = new TextEncoder().encode(SECRET);
const ISSUER = 'http://portcullis.test';

async function rejectsWith(promise: Promise<unknown>, code: string, token?: string): Promise<VerifierError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof VerifierError, `expected a VerifierError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (token !== undefined) {
      // Never the token, nor its signature, in what may end up in a log.
      const signature = token.split('.')[2] ?? '';
      assert.ok(!error.message.includes(token), 'the token is in the message');
      assert.ok(signature.length < 8 || !error.message.includes(signature), 'the signature is in the message');
    }
    return error;
  }
  assert.fail(`expected ${code}, but the promise resolved`);
}

describe('createVerifier with a JWKS URL', () => {
  let server: KeyServer;
  const keys = {} as Record<SigningAlgorithm, SigningKey>;
  let verifier: Verifier;

  before(async () => {
    for (const alg of ALGORITHMS) keys[alg] = await makeSigningKey(alg);
    server = await startKeyServer(ALGORITHMS.map((alg) => keys[alg].jwk));
    verifier = createVerifier({ jwksUri: server.jwksUrl, issuer: ISSUER });
  });
  after(() => server.close());

  for (const alg of ALGORITHMS) {
    it(`accepts a valid ${alg} token and returns its claims`, async () => {
      const token = await mintToken(keys[alg], { issuer: ISSUER });
      const claims = await verifier.verify(token);
      assert.equal(claims.sub, 'alice');
      assert.deepEqual(claims.scope, ['me', 'items']);
      assert.equal(claims.iss, ISSUER);
      assert.equal(claims.sid, 'session-1');
      assert.equal(claims.clientId, 'web');
      assert.equal(typeof claims.jti, 'string');
      assert.equal(claims.exp - claims.iat, 300);
      assert.equal(claims.nbf, claims.iat);
      assert.equal(claims.aud, undefined);
      assert.equal(claims.raw.client_id, 'web');
    });
  }

  it('fetches the JWKS once and serves later tokens from its cache', async () => {
    const before = server.counts.jwks;
    const fresh = createVerifier({ jwksUri: server.jwksUrl, issuer: ISSUER });
    const tokens = await Promise.all(ALGORITHMS.map((alg) => mintToken(keys[alg], { issuer: ISSUER })));
    await Promise.all(tokens.map((token) => fresh.verify(token))); // concurrent first calls share one fetch
    for (let i = 0; i < 10; i++) for (const token of tokens) await fresh.verify(token);
    assert.equal(server.counts.jwks - before, 1);
  });

  it('parses an empty scope as no scopes and keeps an aud', async () => {
    const token = await mintToken(keys.ES256, { issuer: ISSUER, claims: { scope: '', aud: 'api' } });
    const claims = await verifier.verify(token);
    assert.deepEqual(claims.scope, []);
    assert.equal(claims.aud, 'api');
  });

  const now = () => Math.floor(Date.now() / 1000);
  const invalidCases: Array<[string, () => Promise<string>]> = [
    ['a wrong issuer', () => mintToken(keys.EdDSA, { issuer: 'http://elsewhere.test' })],
    ['a wrong typ', () => mintToken(keys.EdDSA, { issuer: ISSUER, header: { typ: 'JWT' } })],
    ['no typ', () => mintToken(keys.EdDSA, { issuer: ISSUER, header: { typ: undefined } })],
    ['an expired token', () => mintToken(keys.EdDSA, { issuer: ISSUER, claims: { iat: now() - 120, nbf: now() - 120, exp: now() - 60 } })],
    ['a token not valid yet', () => mintToken(keys.EdDSA, { issuer: ISSUER, claims: { nbf: now() + 60 } })],
    ['a missing jti', () => mintToken(keys.EdDSA, { issuer: ISSUER, claims: { jti: undefined } })],
    ['a missing scope', () => mintToken(keys.EdDSA, { issuer: ISSUER, claims: { scope: undefined } })],
    ['a scope that is not a string', () => mintToken(keys.EdDSA, { issuer: ISSUER, claims: { scope: ['me'] } })],
    ['a sub that is not a string', () => mintToken(keys.EdDSA, { issuer: ISSUER, claims: { sub: 42 as unknown as string } })],
    ['no kid', () => mintToken(keys.EdDSA, { issuer: ISSUER, header: { kid: undefined } })],
    ['a key of another algorithm under the kid', () => mintToken({ ...keys.ES256, kid: keys.RS256.kid }, { issuer: ISSUER })],
    [
      'a tampered payload',
      async () => {
        const [header, , signature] = (await mintToken(keys.EdDSA, { issuer: ISSUER })).split('.');
        const forged = Buffer.from(
          JSON.stringify({ sub: 'admin', scope: 'admin', iss: ISSUER, iat: now(), exp: now() + 300, jti: 'x' }),
        ).toString('base64url');
        return `${header}.${forged}.${signature}`;
      },
    ],
    [
      'a tampered signature',
      async () => {
        const token = await mintToken(keys.RS256, { issuer: ISSUER });
        return `${token.slice(0, -6)}${token.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA'}`;
      },
    ],
    [
      'alg none',
      async () => {
        const enc = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
        return `${enc({ alg: 'none', typ: 'at+jwt', kid: keys.EdDSA.kid })}.${enc({ sub: 'alice', scope: '', iss: ISSUER, iat: now(), exp: now() + 60, jti: 'x' })}.`;
      },
    ],
    ['garbage', () => Promise.resolve('not-a-jwt')],
    ['an over-long token', () => Promise.resolve('a'.repeat(10_000))],
  ];
  for (const [name, makeToken] of invalidCases) {
    it(`refuses ${name} with ERR_INVALID_TOKEN (401)`, async () => {
      const token = await makeToken();
      const error = await rejectsWith(verifier.verify(token), 'ERR_INVALID_TOKEN', token);
      assert.ok(error instanceof InvalidTokenError);
      assert.equal(error.status, 401);
      assert.equal(error.detail, 'Could not validate credentials');
      assert.equal(error.wwwAuthenticate, 'Bearer error="invalid_token"');
    });
  }

  it('accepts a token expired within the clock tolerance, and not beyond a custom one', async () => {
    const token = await mintToken(keys.ES256, { issuer: ISSUER, claims: { iat: now() - 100, exp: now() - 2 } });
    await verifier.verify(token);
    const strict = createVerifier({ jwksUri: server.jwksUrl, issuer: ISSUER, clockToleranceSeconds: 0 });
    await rejectsWith(strict.verify(token), 'ERR_INVALID_TOKEN');
  });

  it('checks the audience when one is configured', async () => {
    const withAudience = createVerifier({ jwksUri: server.jwksUrl, issuer: ISSUER, audience: 'api' });
    assert.equal((await withAudience.verify(await mintToken(keys.PS256, { issuer: ISSUER, claims: { aud: 'api' } }))).aud, 'api');
    await withAudience.verify(await mintToken(keys.PS256, { issuer: ISSUER, claims: { aud: ['other', 'api'] } }));
    await rejectsWith(withAudience.verify(await mintToken(keys.PS256, { issuer: ISSUER, claims: { aud: 'other' } })), 'ERR_INVALID_TOKEN');
    await rejectsWith(withAudience.verify(await mintToken(keys.PS256, { issuer: ISSUER })), 'ERR_INVALID_TOKEN');
  });

  it('refuses an HS256 token signed with a published public key as the secret, without fetching (confusion)', async () => {
    const fresh = createVerifier({ jwksUri: server.jwksUrl, issuer: ISSUER });
    const before = server.counts.jwks;
    const publicPem = new TextEncoder().encode(
      await exportSPKI((await importJWK(keys.RS256.jwk, 'RS256', { extractable: true })) as CryptoKey),
    );
    for (const secret of [publicPem, new TextEncoder().encode(JSON.stringify(keys.RS256.jwk)), SECRET_BYTES]) {
      const token = await mintToken({ alg: 'HS256', secret, kid: keys.RS256.kid }, { issuer: ISSUER });
      await rejectsWith(fresh.verify(token), 'ERR_INVALID_TOKEN', token);
    }
    assert.equal(server.counts.jwks, before);
  });

  it('refuses HMAC algorithms for a key set at construction', () => {
    assert.throws(() => createVerifier({ jwksUri: server.jwksUrl, issuer: ISSUER, algorithms: ['HS256' as 'ES256'] }), TypeError);
    assert.throws(() => createVerifier({ jwksUri: server.jwksUrl, issuer: ISSUER, algorithms: ['none' as 'ES256'] }), TypeError);
    assert.throws(() => createVerifier({ jwksUri: server.jwksUrl, issuer: ISSUER, algorithms: [] }), TypeError);
  });

  it('refuses an algorithm left out of the pinned list', async () => {
    const edOnly = createVerifier({ jwksUri: server.jwksUrl, issuer: ISSUER, algorithms: ['EdDSA'] });
    await edOnly.verify(await mintToken(keys.EdDSA, { issuer: ISSUER }));
    await rejectsWith(edOnly.verify(await mintToken(keys.RS256, { issuer: ISSUER })), 'ERR_INVALID_TOKEN');
  });

  it('answers a missing scope with ERR_INSUFFICIENT_SCOPE (403) naming the scopes needed', async () => {
    const token = await mintToken(keys.EdDSA, { issuer: ISSUER, claims: { scope: 'me items' } });
    const needsAdmin = createVerifier({ jwksUri: server.jwksUrl, issuer: ISSUER, requiredScopes: ['items', 'admin'] });
    const error = await rejectsWith(needsAdmin.verify(token), 'ERR_INSUFFICIENT_SCOPE', token);
    assert.ok(error instanceof InsufficientScopeError);
    assert.equal(error.status, 403);
    assert.equal(error.detail, 'Not enough permissions');
    assert.equal(error.wwwAuthenticate, 'Bearer error="insufficient_scope", scope="items admin"');
    assert.deepEqual(error.requiredScopes, ['items', 'admin']);
    // Per call, on top of the verifier's own.
    assert.deepEqual((await verifier.verify(token, { requiredScopes: ['items'] })).scope, ['me', 'items']);
    const perCall = await rejectsWith(verifier.verify(token, { requiredScopes: ['reports'] }), 'ERR_INSUFFICIENT_SCOPE');
    assert.equal(perCall.wwwAuthenticate, 'Bearer error="insufficient_scope", scope="reports"');
  });

  it('refuses scopes that cannot be written in a WWW-Authenticate header', () => {
    assert.throws(() => createVerifier({ jwksUri: server.jwksUrl, issuer: ISSUER, requiredScopes: ['a"b'] }), TypeError);
    assert.throws(() => createVerifier({ jwksUri: server.jwksUrl, issuer: ISSUER, requiredScopes: ['a b'] }), TypeError);
  });

  it('reads the token of an Authorization header (RFC 6750), scheme case-insensitive', async () => {
    const token = await mintToken(keys.ES256, { issuer: ISSUER });
    assert.equal((await verifier.verifyRequest(`Bearer ${token}`)).sub, 'alice');
    assert.equal((await verifier.verifyRequest(`bearer ${token}`)).sub, 'alice');
    assert.equal((await verifier.verifyRequest(`BEARER   ${token} `)).sub, 'alice');
    for (const header of [undefined, '', 'Bearer', 'Bearer   ', `Basic ${Buffer.from('a:b').toString('base64')}`, token]) {
      const error = await rejectsWith(verifier.verifyRequest(header), 'ERR_NO_TOKEN');
      assert.ok(error instanceof NoTokenError);
      assert.equal(error.status, 401);
      assert.equal(error.detail, 'Not authenticated');
      assert.equal(error.wwwAuthenticate, 'Bearer');
    }
    await rejectsWith(verifier.verifyRequest(`Bearer ${token} extra`), 'ERR_INVALID_TOKEN', token);
    await rejectsWith(verifier.verifyRequest('Bearer a"b'), 'ERR_INVALID_TOKEN');
  });
});

describe('createVerifier with a secret', () => {
  const verifier = createVerifier({ secret: SECRET, issuer: ISSUER });

  for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
    it(`accepts a valid ${alg} token`, async () => {
      const token = await mintToken({ alg, secret: SECRET_BYTES }, { issuer: ISSUER });
      assert.equal((await verifier.verify(token)).sub, 'alice');
    });
  }

  it('takes the secret as bytes too, and pins the algorithms given', async () => {
    const hs256 = createVerifier({ secret: Uint8Array.from(SECRET_BYTES), issuer: ISSUER, algorithms: ['HS256'] });
    await hs256.verify(await mintToken({ alg: 'HS256', secret: SECRET_BYTES }, { issuer: ISSUER }));
    await rejectsWith(hs256.verify(await mintToken({ alg: 'HS512', secret: SECRET_BYTES }, { issuer: ISSUER })), 'ERR_INVALID_TOKEN');
  });

  it('refuses a token signed with another secret', async () => {
    const token = await mintToken({ alg: 'HS256', secret: randomBytes(32) }, { issuer: ISSUER });
    await rejectsWith(verifier.verify(token), 'ERR_INVALID_TOKEN', token);
  });

  it('refuses an ES256 token (confusion)', async () => {
    const key = await makeSigningKey('ES256');
    const token = await mintToken(key, { issuer: ISSUER });
    await rejectsWith(verifier.verify(token), 'ERR_INVALID_TOKEN', token);
  });

  it('refuses misuse at construction', () => {
    assert.throws(() => createVerifier({ secret: 'too short', issuer: ISSUER }), TypeError);
    assert.throws(() => createVerifier({ secret: SECRET, issuer: ISSUER, algorithms: ['ES256' as 'HS256'] }), TypeError);
    assert.throws(() => createVerifier({ secret: SECRET, issuer: ISSUER, jwksUri: 'http://x/jwks' } as never), TypeError);
    assert.throws(() => createVerifier({ secret: SECRET, issuer: '' }), TypeError);
    assert.throws(() => createVerifier({ issuer: 'not a url' }), TypeError);
  });

  it('refuses a token whose typ is a plain JWT', async () => {
    const token = await new SignJWT({ sub: 'alice', scope: '', jti: 'j' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(SECRET_BYTES);
    await rejectsWith(verifier.verify(token), 'ERR_INVALID_TOKEN');
  });
});

describe('createVerifier with discovery', () => {
  let server: KeyServer;
  let key: SigningKey;

  before(async () => {
    key = await makeSigningKey('EdDSA');
    server = await startKeyServer([key.jwk]);
  });
  after(() => server.close());

  it('finds the JWKS through the RFC 8414 metadata, once', async () => {
    const verifier = createVerifier({ issuer: server.url });
    const token = await mintToken(key, { issuer: server.url });
    await Promise.all([verifier.verify(token), verifier.verify(token)]);
    for (let i = 0; i < 5; i++) await verifier.verify(token);
    assert.deepEqual(server.counts, { metadata: 1, jwks: 1 });
  });

  it('refuses metadata that names another issuer with ERR_JWKS_UNAVAILABLE, then recovers', async () => {
    const before = { ...server.counts };
    server.metadataIssuer = 'http://impostor.test';
    try {
      const verifier = createVerifier({ issuer: server.url, jwksCooldownSeconds: 0.2 });
      const token = await mintToken(key, { issuer: server.url });
      const error = await rejectsWith(verifier.verify(token), 'ERR_JWKS_UNAVAILABLE');
      assert.equal(error.status, 503);
      await rejectsWith(verifier.verify(token), 'ERR_JWKS_UNAVAILABLE'); // within the backoff: not asked again
      assert.equal(server.counts.metadata - before.metadata, 1);
      assert.equal(server.counts.jwks, before.jwks);
      server.metadataIssuer = undefined;
      await sleep(250);
      assert.equal((await verifier.verify(token)).sub, 'alice');
    } finally {
      server.metadataIssuer = undefined;
    }
  });

  it('answers ERR_JWKS_UNAVAILABLE when the issuer is down', async () => {
    const issuer = await deadUrl();
    const verifier = createVerifier({ issuer });
    await rejectsWith(verifier.verify(await mintToken(key, { issuer })), 'ERR_JWKS_UNAVAILABLE');
  });
});

describe('JWKS refetch, cooldown and rotation', () => {
  const COOLDOWN_S = 1;
  let server: KeyServer;
  let current: SigningKey;
  let verifier: Verifier;

  before(async () => {
    current = await makeSigningKey('ES256', 'key-1');
    server = await startKeyServer([current.jwk]);
    verifier = createVerifier({ jwksUri: server.jwksUrl, issuer: ISSUER, jwksCooldownSeconds: COOLDOWN_S });
  });
  after(() => server.close());

  it('refetches once for an unknown kid, then not at all for 50 garbage kids during the cooldown, and picks up a rotated key after it', async () => {
    await verifier.verify(await mintToken(current, { issuer: ISSUER }));
    assert.equal(server.counts.jwks, 1);
    await sleep(COOLDOWN_S * 1000 + 100);

    // A well-signed token under a kid the set does not hold: one refetch, still no key.
    const unpublished = await makeSigningKey('ES256', 'key-unpublished');
    await rejectsWith(verifier.verify(await mintToken(unpublished, { issuer: ISSUER })), 'ERR_INVALID_TOKEN');
    assert.equal(server.counts.jwks, 2);

    const rotated = await makeSigningKey('ES256', 'key-2');
    server.keys = [current.jwk, rotated.jwk];
    const garbage = await Promise.all(
      Array.from({ length: 50 }, () =>
        mintToken(current, { issuer: ISSUER, header: { kid: randomUUID() + randomBytes(8).toString('hex') } }),
      ),
    );
    await Promise.all(garbage.map((token) => rejectsWith(verifier.verify(token), 'ERR_INVALID_TOKEN')));
    assert.equal(server.counts.jwks, 2, 'garbage kids caused a fetch during the cooldown');

    await sleep(COOLDOWN_S * 1000 + 100);
    const fromRotated = await mintToken(rotated, { issuer: ISSUER });
    assert.equal((await verifier.verify(fromRotated)).sub, 'alice');
    assert.equal(server.counts.jwks, 3);
    // The old key keeps verifying while it is published; neither costs a fetch now.
    await verifier.verify(await mintToken(current, { issuer: ISSUER }));
    await verifier.verify(fromRotated);
    assert.equal(server.counts.jwks, 3);
  });
});

describe('JWKS failures', () => {
  let key: SigningKey;
  before(async () => {
    key = await makeSigningKey('EdDSA');
  });

  it('answers ERR_JWKS_UNAVAILABLE (503) when the JWKS server is down, and keeps answering', async () => {
    const verifier = createVerifier({ jwksUri: `${await deadUrl()}/.well-known/jwks.json`, issuer: ISSUER });
    const token = await mintToken(key, { issuer: ISSUER });
    for (let i = 0; i < 3; i++) {
      const error = await rejectsWith(verifier.verify(token), 'ERR_JWKS_UNAVAILABLE', token);
      assert.ok(error instanceof JwksUnavailableError);
      assert.equal(error.status, 503);
      assert.equal(error.wwwAuthenticate, undefined);
    }
  });

  it('gives up on a JWKS server that does not answer after fetchTimeoutMs', async () => {
    const server = await startKeyServer([key.jwk]);
    server.mode = 'hang';
    try {
      const verifier = createVerifier({ jwksUri: server.jwksUrl, issuer: ISSUER, fetchTimeoutMs: 200 });
      const started = Date.now();
      await rejectsWith(verifier.verify(await mintToken(key, { issuer: ISSUER })), 'ERR_JWKS_UNAVAILABLE');
      assert.ok(Date.now() - started < 2000);
    } finally {
      await server.close();
    }
  });

  it('keeps verifying with the cached keys when a refetch fails (stale-if-error), without hammering', async () => {
    const server = await startKeyServer([key.jwk]);
    try {
      const verifier = createVerifier({
        jwksUri: server.jwksUrl,
        issuer: ISSUER,
        jwksCacheMaxAgeSeconds: 0.2,
        jwksCooldownSeconds: 0.5,
      });
      const token = await mintToken(key, { issuer: ISSUER });
      await verifier.verify(token);
      server.mode = 'error';
      await sleep(300); // the cache is stale now
      for (let i = 0; i < 20; i++) assert.equal((await verifier.verify(token)).sub, 'alice');
      assert.equal(server.counts.jwks, 2, 'one failed refetch, then a backoff');
      // A kid the cached set lacks cannot be confirmed either way: 503, not 401.
      const other = await makeSigningKey('EdDSA');
      await rejectsWith(verifier.verify(await mintToken(other, { issuer: ISSUER })), 'ERR_JWKS_UNAVAILABLE');
      server.mode = 'ok';
      server.keys = [key.jwk, other.jwk];
      await sleep(600);
      assert.equal((await verifier.verify(await mintToken(other, { issuer: ISSUER }))).sub, 'alice');
    } finally {
      await server.close();
    }
  });

  it('treats a malformed JWKS as unavailable', async () => {
    const server = await startKeyServer([{ kty: 'nonsense' } as JWK]);
    try {
      const verifier = createVerifier({ jwksUri: server.jwksUrl, issuer: ISSUER });
      // No usable key for the kid; the set itself parsed, so this is a token-side miss.
      await rejectsWith(verifier.verify(await mintToken(key, { issuer: ISSUER })), 'ERR_INVALID_TOKEN');
      server.keys = 'not a list' as unknown as JWK[];
      const strict = createVerifier({ jwksUri: server.jwksUrl, issuer: ISSUER });
      await rejectsWith(strict.verify(await mintToken(key, { issuer: ISSUER })), 'ERR_JWKS_UNAVAILABLE');
    } finally {
      await server.close();
    }
  });
});

describe('VerifierError', () => {
  it('maps every code to its status, detail and WWW-Authenticate', () => {
    const table = [
      [new NoTokenError(), 'ERR_NO_TOKEN', 401, 'Not authenticated', 'Bearer'],
      [new InvalidTokenError('x'), 'ERR_INVALID_TOKEN', 401, 'Could not validate credentials', 'Bearer error="invalid_token"'],
      [
        new InsufficientScopeError(['a', 'b']),
        'ERR_INSUFFICIENT_SCOPE',
        403,
        'Not enough permissions',
        'Bearer error="insufficient_scope", scope="a b"',
      ],
      [new JwksUnavailableError('x'), 'ERR_JWKS_UNAVAILABLE', 503, 'Service temporarily unavailable', undefined],
    ] as const;
    for (const [error, code, status, detail, wwwAuthenticate] of table) {
      assert.ok(error instanceof VerifierError && error instanceof Error);
      assert.deepEqual([error.code, error.status, error.detail, error.wwwAuthenticate], [code, status, detail, wwwAuthenticate]);
      assert.equal(error.name, error.constructor.name);
    }
  });
});
