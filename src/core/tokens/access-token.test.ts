import { createHmac, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, UnsecuredJWT, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';
import { fixedClock, systemClock, type Clock } from '../clock.js';
import { InvalidTokenError } from '../errors.js';
import { ACCESS_TOKEN_TYPE, AccessTokenCodec, MAX_ACCESS_TOKEN_LENGTH, type AccessTokenSettings } from './access-token.js';
import { HMAC_ALGORITHMS } from './algorithms.js';

const SECRET = 'unit-test-secret-key-that-is-long-enough-0123456789';
const SECRET_BYTES = Buffer.from(SECRET, 'utf8');
const ISSUER = 'http://portcullis.test';
const NOW_MS = Date.UTC(2030, 0, 15, 12, 0, 0);
const NOW_S = NOW_MS / 1000;
const TTL_S = 1800;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function settings(overrides: Partial<AccessTokenSettings> = {}): AccessTokenSettings {
  return {
    algorithm: 'HS256',
    secretKey: SECRET,
    issuer: ISSUER,
    audience: undefined,
    ttlSeconds: TTL_S,
    clockToleranceSeconds: 5,
    ...overrides,
  };
}

function codec(overrides: Partial<AccessTokenSettings> = {}, clock: Clock = fixedClock(NOW_MS)): AccessTokenCodec {
  return new AccessTokenCodec(settings(overrides), clock);
}

function assertInvalid(verifier: AccessTokenCodec, token: string): Promise<void> {
  return assert.rejects(
    () => verifier.verify(token),
    (error: unknown) => error instanceof InvalidTokenError && error.code === 'ERR_INVALID_TOKEN',
  );
}

function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8').toString('base64url');
}

/** Claims as the codec issues them at NOW_S, for tokens made by hand or with jose. */
function goodClaims(overrides: Record<string, unknown> = {}): JWTPayload {
  return {
    sub: 'alice',
    scope: 'me items',
    iss: ISSUER,
    iat: NOW_S,
    nbf: NOW_S,
    exp: NOW_S + TTL_S,
    jti: '6f1c1f3e-2a4b-4c5d-8e6f-7a8b9c0d1e2f',
    ...overrides,
  };
}

/** Signs with jose, the same secret bytes and (unless overridden) the header the codec writes. */
function joseSign(payload: JWTPayload, header: Record<string, unknown> = {}, key: Uint8Array = SECRET_BYTES): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: ACCESS_TOKEN_TYPE, ...header }).sign(key);
}

/** HMAC-signs arbitrary header and payload by hand (for shapes jose refuses to produce). */
function handSign(header: unknown, payload: unknown, secret: Buffer = SECRET_BYTES): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

describe('AccessTokenCodec', () => {
  describe('issue', () => {
    for (const algorithm of HMAC_ALGORITHMS) {
      it(`writes the header {alg: ${algorithm}, typ: at+jwt, kid} and nothing else`, async () => {
        const { token } = await codec({ algorithm }).issue('alice', ['me']);
        const { kid, ...rest } = decodeProtectedHeader(token);
        assert.deepEqual(rest, { alg: algorithm, typ: 'at+jwt' });
        assert.match(String(kid), /^hs-[A-Za-z0-9_-]{16}$/);
        assert.equal((await codec({ algorithm }).issue('bob', [])).token.split('.')[0], token.split('.')[0], 'one key, one kid');
      });
    }

    it('writes sub, scope, iss, iat, nbf, exp and jti, and no aud when no audience is set', async () => {
      const issued = await codec().issue('alice', ['me', 'items']);
      const payload = decodeJwt(issued.token);
      assert.deepEqual(Object.keys(payload).sort(), ['exp', 'iat', 'iss', 'jti', 'nbf', 'scope', 'sub']);
      assert.equal(payload.sub, 'alice');
      assert.equal(payload.scope, 'me items');
      assert.equal(payload.iss, ISSUER);
      assert.equal(payload.iat, NOW_S);
      assert.equal(payload.nbf, NOW_S);
      assert.equal(payload.exp, NOW_S + TTL_S);
      assert.match(String(payload.jti), UUID);
      assert.deepEqual(payload, { ...issued.claims });
      assert.equal(issued.expiresInSeconds, TTL_S);
    });

    it('writes aud when an audience is set', async () => {
      const payload = decodeJwt((await codec({ audience: 'https://api.example' }).issue('alice', [])).token);
      assert.equal(payload.aud, 'https://api.example');
    });

    it('writes an empty scope string for no scopes', async () => {
      assert.equal(decodeJwt((await codec().issue('alice', [])).token).scope, '');
    });

    it('rounds iat down to whole seconds', async () => {
      const { claims } = await codec({}, fixedClock(NOW_MS + 999)).issue('alice', []);
      assert.equal(claims.iat, NOW_S);
    });

    it('gives every token its own jti', async () => {
      const tokens = codec();
      assert.notEqual((await tokens.issue('alice', [])).claims.jti, (await tokens.issue('alice', [])).claims.jti);
    });
  });

  describe('verify', () => {
    for (const algorithm of HMAC_ALGORITHMS) {
      it(`accepts its own ${algorithm} token and returns its claims`, async () => {
        const tokens = codec({ algorithm });
        const issued = await tokens.issue('alice', ['me', 'items']);
        assert.deepEqual(await tokens.verify(issued.token), issued.claims);
      });

      it(`issues ${algorithm} tokens that jose's jwtVerify accepts with the same secret bytes`, async () => {
        const issued = await codec({ algorithm }).issue('alice', ['me']);
        const { payload, protectedHeader } = await jwtVerify(issued.token, SECRET_BYTES, {
          algorithms: [algorithm],
          issuer: ISSUER,
          typ: 'at+jwt',
          requiredClaims: ['sub', 'scope', 'iat', 'nbf', 'exp', 'jti'],
          currentDate: new Date(NOW_MS),
        });
        assert.equal(protectedHeader.alg, algorithm);
        assert.deepEqual(payload, { ...issued.claims });
      });
    }

    it('issues tokens with an audience that jose accepts for that audience', async () => {
      const issued = await codec({ audience: 'https://api.example' }).issue('alice', []);
      const { payload } = await jwtVerify(issued.token, SECRET_BYTES, {
        algorithms: ['HS256'],
        audience: 'https://api.example',
        currentDate: new Date(NOW_MS),
      });
      assert.equal(payload.aud, 'https://api.example');
    });

    it('accepts a well-formed token signed by jose (the control for the forgeries below)', async () => {
      const claims = await codec().verify(await joseSign(goodClaims()));
      assert.equal(claims.sub, 'alice');
      assert.equal(claims.scope, 'me items');
    });

    it('accepts a well-formed token signed by hand (the control for hand-made forgeries)', async () => {
      assert.equal((await codec().verify(handSign({ alg: 'HS256', typ: 'at+jwt' }, goodClaims()))).sub, 'alice');
    });

    it('accepts its own token with aud when an audience is configured', async () => {
      const tokens = codec({ audience: 'https://api.example' });
      assert.equal((await tokens.verify((await tokens.issue('alice', [])).token)).aud, 'https://api.example');
    });
  });

  describe('verify refuses forged and invalid tokens with InvalidTokenError', () => {
    it('refuses alg none with an empty signature', async () => {
      for (const alg of ['none', 'None', 'NONE']) {
        await assertInvalid(codec(), `${b64url({ alg, typ: 'at+jwt' })}.${b64url(goodClaims())}.`);
      }
    });

    it('refuses alg none made by jose UnsecuredJWT', async () => {
      await assertInvalid(codec(), new UnsecuredJWT(goodClaims()).encode());
    });

    it('refuses alg none carrying an HMAC signature of the same secret', async () => {
      await assertInvalid(codec(), handSign({ alg: 'none', typ: 'at+jwt' }, goodClaims()));
    });

    for (const pinned of HMAC_ALGORITHMS) {
      for (const other of HMAC_ALGORITHMS.filter((alg) => alg !== pinned)) {
        it(`refuses an ${other} token signed with the same secret when ${pinned} is pinned`, async () => {
          const verifier = codec({ algorithm: pinned });
          const forged = await joseSign(goodClaims(), { alg: other });
          assert.equal(decodeProtectedHeader(forged).alg, other);
          await assertInvalid(verifier, forged);
          assert.equal((await verifier.verify(await joseSign(goodClaims(), { alg: pinned }))).sub, 'alice');
        });
      }
    }

    it("refuses a token with an embedded jwk header signed with the attacker's own EC key", async () => {
      const { publicKey, privateKey } = await generateKeyPair('ES256');
      const jwk = await exportJWK(publicKey);
      const forged = await new SignJWT(goodClaims()).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', jwk }).sign(privateKey);
      await assertInvalid(codec(), forged);
    });

    it("refuses an HS256 token with an embedded oct jwk header signed with the attacker's secret", async () => {
      const attackerSecret = randomBytes(32);
      const jwk = { kty: 'oct', k: attackerSecret.toString('base64url') };
      await assertInvalid(codec(), await joseSign(goodClaims(), { jwk }, attackerSecret));
    });

    it('refuses a token with an unknown crit header, even when correctly signed', async () => {
      const forged = await new SignJWT(goodClaims())
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', crit: ['urn:example:ext'], 'urn:example:ext': true })
        .sign(SECRET_BYTES, { crit: { 'urn:example:ext': true } });
      assert.deepEqual(decodeProtectedHeader(forged).crit, ['urn:example:ext']);
      await assertInvalid(codec(), forged);
    });

    it('refuses a token with one signature character flipped in the middle', async () => {
      const tokens = codec();
      const token = (await tokens.issue('alice', ['me'])).token;
      const [header, payload, signature = ''] = token.split('.');
      const index = Math.floor(signature.length / 2);
      const flipped = signature[index] === 'A' ? 'B' : 'A';
      const forged = `${header}.${payload}.${signature.slice(0, index)}${flipped}${signature.slice(index + 1)}`;
      assert.notEqual(forged, token);
      await assertInvalid(tokens, forged);
    });

    it('refuses a token whose payload was changed and whose signature was kept', async () => {
      const tokens = codec();
      const [header, payload = '', signature] = (await tokens.issue('alice', ['me'])).token.split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
      await assertInvalid(tokens, `${header}.${b64url({ ...claims, sub: 'admin' })}.${signature}`);
      await assertInvalid(tokens, `${header}.${b64url({ ...claims, scope: 'me admin' })}.${signature}`);
    });

    it('refuses a token signed with a different secret', async () => {
      const other = codec({ secretKey: 'another-secret-key-that-is-long-enough-987654' });
      await assertInvalid(codec(), (await other.issue('alice', [])).token);
    });

    it('accepts a token up to the 5 s tolerance after exp and refuses it from 6 s after', async () => {
      const clock = fixedClock(NOW_MS);
      const tokens = codec({}, clock);
      const { token } = await tokens.issue('alice', []);
      clock.advance((TTL_S + 5) * 1000);
      assert.equal((await tokens.verify(token)).sub, 'alice');
      clock.advance(1000);
      await assertInvalid(tokens, token);
    });

    it('refuses a token issued by a codec whose fixed clock is in the past', async () => {
      const past = codec({}, fixedClock(Date.now() - (TTL_S + 60) * 1000));
      await assertInvalid(codec({}, systemClock), (await past.issue('alice', [])).token);
    });

    it('refuses a token whose nbf is beyond the tolerance in the future', async () => {
      await assertInvalid(codec(), await joseSign(goodClaims({ nbf: NOW_S + 60 })));
      assert.equal((await codec().verify(await joseSign(goodClaims({ nbf: NOW_S + 5 })))).sub, 'alice');
    });

    it('refuses a token issued by a codec whose clock runs ten minutes ahead', async () => {
      const ahead = codec({}, fixedClock(NOW_MS + 600_000));
      await assertInvalid(codec(), (await ahead.issue('alice', [])).token);
    });

    it('refuses a token from another issuer', async () => {
      const other = codec({ issuer: 'http://evil.test' });
      await assertInvalid(codec(), (await other.issue('alice', [])).token);
    });

    it('refuses an iss given as an array that contains the issuer', async () => {
      await assertInvalid(codec(), handSign({ alg: 'HS256', typ: 'at+jwt' }, goodClaims({ iss: ['http://evil.test', ISSUER] })));
    });

    it('refuses a token for another audience when an audience is configured', async () => {
      const other = codec({ audience: 'https://other.example' });
      await assertInvalid(codec({ audience: 'https://api.example' }), (await other.issue('alice', [])).token);
    });

    it('refuses a token without aud when an audience is configured', async () => {
      await assertInvalid(codec({ audience: 'https://api.example' }), (await codec().issue('alice', [])).token);
    });

    it("refuses typ 'JWT' and a missing typ", async () => {
      await assertInvalid(codec(), await joseSign(goodClaims(), { typ: 'JWT' }));
      await assertInvalid(codec(), handSign({ alg: 'HS256' }, goodClaims()));
    });

    for (const claim of ['jti', 'sub', 'exp', 'iat', 'nbf', 'iss', 'scope']) {
      it(`refuses a token without the required ${claim} claim`, async () => {
        const claims = goodClaims();
        delete claims[claim];
        await assertInvalid(codec(), handSign({ alg: 'HS256', typ: 'at+jwt' }, claims));
      });
    }

    it('refuses claims of the wrong type (numeric sub, string exp, empty sub)', async () => {
      for (const overrides of [{ sub: 42 }, { exp: String(NOW_S + TTL_S) }, { sub: '' }, { scope: ['me'] }]) {
        await assertInvalid(codec(), handSign({ alg: 'HS256', typ: 'at+jwt' }, goodClaims(overrides)));
      }
    });

    it(`refuses a correctly signed token longer than ${MAX_ACCESS_TOKEN_LENGTH} characters`, async () => {
      const tokens = codec();
      const { token } = await tokens.issue('a'.repeat(MAX_ACCESS_TOKEN_LENGTH), []);
      assert.ok(token.length > MAX_ACCESS_TOKEN_LENGTH);
      await assertInvalid(tokens, token);
    });

    it('refuses garbage strings', async () => {
      const garbage = [
        '',
        'a.b.c',
        '..',
        'not-a-token',
        randomBytes(64).toString('base64'),
        randomBytes(64).toString('base64url'),
        `${b64url({ alg: 'HS256', typ: 'at+jwt' })}.${b64url(goodClaims())}`,
        `${b64url('null')}.${b64url(goodClaims())}.AAAA`,
        `${b64url({ alg: 'HS256', typ: 'at+jwt' })}.${b64url('[]')}.AAAA`,
        `${(await codec().issue('alice', [])).token} `,
      ];
      for (const token of garbage) await assertInvalid(codec(), token);
    });
  });
});

describe('AccessTokenCodec remembering verified tokens', () => {
  const remembering = (clock: Clock) => new AccessTokenCodec(settings({ verifiedTokens: { maxEntries: 100, ttlMs: 60_000 } }), clock);

  it('answers a token presented again with the same claims, synchronously through verifyKnown', async () => {
    const clock = fixedClock(NOW_MS);
    const tokens = remembering(clock);
    const { token, claims } = await tokens.issue('alice', ['me']);
    assert.deepEqual(await tokens.verify(token), claims);
    assert.deepEqual(tokens.verifyKnown(token), claims);
    assert.deepEqual(await tokens.verify(token), claims);
  });

  it('verifies nothing new when asked for remembered tokens only', async () => {
    const clock = fixedClock(NOW_MS);
    const tokens = remembering(clock);
    const { token, claims } = await tokens.issue('alice', ['me']);
    assert.equal(tokens.verifyKnown(token, true), undefined, 'valid, but not verified before');
    assert.deepEqual(tokens.verifyKnown(token), claims);
    assert.deepEqual(tokens.verifyKnown(token, true), claims);
    assert.equal(tokens.verifyKnown(`${token} `, true), undefined, 'not the remembered string');
    const expiring = remembering(clock);
    expiring.verifyKnown(token);
    clock.advance(3_600_000);
    assert.throws(() => expiring.verifyKnown(token, true), InvalidTokenError);
  });

  it('still refuses a remembered token once it has expired, or before its nbf', async () => {
    const clock = fixedClock(NOW_MS);
    const tokens = remembering(clock);
    const { token } = await tokens.issue('alice', ['me']);
    await tokens.verify(token);
    clock.advance((TTL_S + 6) * 1000);
    await assertInvalid(tokens, token);
    assert.throws(() => tokens.verifyKnown(token), InvalidTokenError);
    const early = remembering(fixedClock(NOW_MS - 60_000));
    await assertInvalid(early, token);
  });

  it('does not let a remembered token vouch for a tampered one, nor remember a refusal', async () => {
    const tokens = remembering(fixedClock(NOW_MS));
    const { token } = await tokens.issue('alice', ['me']);
    await tokens.verify(token);
    const [header, , signature] = token.split('.');
    const forged = `${header}.${b64url({ ...decodeJwt(token), scope: 'admin' })}.${signature}`;
    // The forgery has the remembered token's signature, by which the memory finds entries: it is still refused.
    await assertInvalid(tokens, forged);
    await assertInvalid(tokens, forged);
    assert.equal((await tokens.verify(token)).sub, 'alice', 'and the remembered token still passes');
    const badSignature = `${token.slice(0, -6)}${token.slice(-6) === 'AAAAAA' ? 'BBBBBB' : 'AAAAAA'}`;
    await assertInvalid(tokens, badSignature);
  });

  it('refuses a token of another SECRET_KEY with the same header bytes', async () => {
    const tokens = remembering(fixedClock(NOW_MS));
    const { token } = await tokens.issue('alice', ['me']);
    await tokens.verify(token);
    const [header, payload] = token.split('.');
    const other = createHmac('sha256', randomBytes(32)).update(`${header}.${payload}`).digest('base64url');
    await assertInvalid(tokens, `${header}.${payload}.${other}`);
  });
});
