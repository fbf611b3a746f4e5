/**
 * Asymmetric signing keys end to end, for each of EdDSA, ES256, RS256 and
 * PS256, over real HTTP and a real SQLite file: the token header, the JWKS
 * (public members only, Cache-Control), RFC 8414 metadata whose URLs answer,
 * two independent JWT implementations (Python's joserfc and jose) verifying
 * Portcullis tokens through the JWKS, and algorithm confusion, foreign keys
 * and bad kids refused.
 */
import assert from 'node:assert/strict';
import { createPublicKey, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SignJWT, createRemoteJWKSet, generateKeyPair, jwtVerify } from 'jose';
import { assertAccessRefused } from '../helpers/lifecycle.js';
import { bearer, login, TEST_SECRET_KEY, type TestServer } from '../helpers/server.js';
import {
  ASYMMETRIC_ALGORITHMS,
  assertNoPrivateMembers,
  fetchJwks,
  headerOf,
  joserfcAvailable,
  joserfcDecode,
  payloadOf,
  startOnOwnUrl,
  type AsymmetricAlg,
  type PublishedJwk,
} from '../helpers/signing-keys.js';

const JWKS_MAX_AGE_SECONDS = 120;
const PASSWORD = 'alice-password-1';

/** The members each key type publishes: RFC 7518 §6.2.1, §6.3.1; RFC 8037 §2; plus kid, alg, use. */
const EXPECTED_MEMBERS: Record<AsymmetricAlg, { kty: string; members: string[]; crv?: string }> = {
  EdDSA: { kty: 'OKP', crv: 'Ed25519', members: ['alg', 'crv', 'kid', 'kty', 'use', 'x'] },
  ES256: { kty: 'EC', crv: 'P-256', members: ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'] },
  RS256: { kty: 'RSA', members: ['alg', 'e', 'kid', 'kty', 'n', 'use'] },
  PS256: { kty: 'RSA', members: ['alg', 'e', 'kid', 'kty', 'n', 'use'] },
};

/** Another asymmetric algorithm, for "the verifier allows only the configured one". */
const OTHER: Record<AsymmetricAlg, AsymmetricAlg> = { EdDSA: 'ES256', ES256: 'EdDSA', RS256: 'PS256', PS256: 'RS256' };

async function keyStates(server: TestServer): Promise<{ current: string; next: string }> {
  const keys = await server.portcullis.keys!.list();
  const current = keys.filter((key) => key.state === 'current');
  const next = keys.filter((key) => key.state === 'next');
  assert.equal(current.length, 1, 'one current key');
  assert.equal(next.length, 1, 'one next key');
  return { current: current[0]!.kid, next: next[0]!.kid };
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

describe('asymmetric signing keys', () => {
  const servers = new Map<AsymmetricAlg, TestServer>();

  before(async () => {
    // One server per algorithm, started together (RSA key generation is the slow part).
    await Promise.all(
      ASYMMETRIC_ALGORITHMS.map(async (alg) => {
        const server = await startOnOwnUrl({ ALGORITHM: alg, JWKS_MAX_AGE_SECONDS: String(JWKS_MAX_AGE_SECONDS) });
        servers.set(alg, server);
        await server.portcullis.users.create({ username: 'alice', password: PASSWORD, scopes: ['me', 'items'] });
      }),
    );
  });
  after(() => Promise.all([...servers.values()].map((server) => server.stop())));

  for (const alg of ASYMMETRIC_ALGORITHMS) {
    describe(`ALGORITHM=${alg}`, () => {
      const server = () => servers.get(alg)!;

      it('signs access tokens with {alg, typ: at+jwt, kid: the current key} that /users/me accepts', async () => {
        assert.ok(server().portcullis.keys, 'an asymmetric ALGORITHM has a KeyService');
        const token = await login(server(), 'alice', PASSWORD);
        const { current } = await keyStates(server());
        assert.deepEqual(headerOf(token), { alg, typ: 'at+jwt', kid: current });
        const me = await server().fetch('/users/me', { headers: bearer(token) });
        assert.equal(me.status, 200);
        assert.equal(((await me.json()) as { username: string }).username, 'alice');
      });

      it('publishes the current and next keys in the JWKS, public members only, with Cache-Control', async () => {
        const response = await server().fetch('/.well-known/jwks.json');
        assert.equal(response.status, 200);
        assert.equal(response.headers.get('cache-control'), `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
        assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
        const text = await response.text();
        const jwks = JSON.parse(text) as { keys: PublishedJwk[] };
        assert.deepEqual(Object.keys(jwks), ['keys']);
        assertNoPrivateMembers(jwks);
        const { current, next } = await keyStates(server());
        assert.deepEqual(jwks.keys.map((key) => key.kid).sort(), [current, next].sort());
        const expected = EXPECTED_MEMBERS[alg];
        for (const jwk of jwks.keys) {
          assert.deepEqual(Object.keys(jwk).sort(), expected.members, `members of ${jwk.kid}`);
          assert.equal(jwk.kty, expected.kty);
          assert.equal(jwk.alg, alg);
          assert.equal(jwk.use, 'sig');
          if (expected.crv) assert.equal(jwk.crv, expected.crv);
          const publicKey = createPublicKey({ key: { ...jwk }, format: 'jwk' });
          assert.equal(publicKey.type, 'public');
          if (expected.kty === 'RSA') {
            assert.ok((publicKey.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048, 'RSA keys are at least 2048 bits');
          }
        }
      });

      it('issues tokens that Python joserfc verifies with the JWKS fetched from jwks_uri', async (t) => {
        if (!joserfcAvailable(t)) return;
        const token = await login(server(), 'alice', PASSWORD);
        const metadata = (await (await server().fetch('/.well-known/oauth-authorization-server')).json()) as {
          jwks_uri: string;
          issuer: string;
        };
        const jwks = (await (await fetch(metadata.jwks_uri)).json()) as { keys: PublishedJwk[] };

        // joserfc really checks the signature against the published key: the other key's material under the same kid fails.
        const kid = headerOf(token).kid as string;
        const other = jwks.keys.find((key) => key.kid !== kid)!;
        const swapped = { keys: [{ ...other, kid }] };
        const [verified, refused, wrongAlg] = await joserfcDecode([
          { jwks, token, alg, issuer: metadata.issuer },
          { jwks: swapped, token, alg, issuer: metadata.issuer },
          { jwks, token, alg: OTHER[alg], issuer: metadata.issuer },
        ]);
        assert.ok(verified?.ok, `joserfc: ${JSON.stringify(verified)}`);
        assert.equal(verified.header.kid, kid);
        assert.equal(verified.header.alg, alg);
        assert.equal(verified.header.typ, 'at+jwt');
        assert.equal(verified.claims.sub, 'alice');
        assert.equal(verified.claims.iss, server().config.issuer);
        assert.equal(refused?.ok, false);
        assert.equal(!refused.ok && refused.error, 'BadSignatureError');
        assert.equal(wrongAlg?.ok, false, 'only the configured algorithm verifies');
      });

      it('issues tokens that jose verifies through the live jwks_uri (createRemoteJWKSet)', async () => {
        const token = await login(server(), 'alice', PASSWORD);
        const metadata = (await (await server().fetch('/.well-known/oauth-authorization-server')).json()) as {
          jwks_uri: string;
          issuer: string;
        };
        const keySet = createRemoteJWKSet(new URL(metadata.jwks_uri));
        const { payload, protectedHeader } = await jwtVerify(token, keySet, {
          issuer: metadata.issuer,
          algorithms: [alg],
          typ: 'at+jwt',
          requiredClaims: ['sub', 'exp', 'iat', 'nbf', 'jti', 'scope'],
        });
        assert.equal(payload.sub, 'alice');
        assert.equal(protectedHeader.kid, (await keyStates(server())).current);
        await assert.rejects(jwtVerify(token, keySet, { issuer: metadata.issuer, algorithms: [OTHER[alg]] }), {
          code: 'ERR_JOSE_ALG_NOT_ALLOWED',
        });
        const tampered = `${token.slice(0, token.lastIndexOf('.'))}.${Buffer.alloc(alg === 'EdDSA' || alg === 'ES256' ? 64 : 256).toString('base64url')}`;
        await assert.rejects(jwtVerify(tampered, keySet, { issuer: metadata.issuer, algorithms: [alg] }), {
          code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
        });
      });

      it('publishes RFC 8414 metadata whose endpoints and jwks_uri answer', async () => {
        const response = await server().fetch('/.well-known/oauth-authorization-server');
        assert.equal(response.status, 200);
        const metadata = (await response.json()) as Record<string, unknown>;
        const issuer = server().config.issuer;
        assert.equal(issuer, server().url, 'the test server is its own issuer');
        assert.equal(metadata.issuer, issuer);
        assert.equal(metadata.token_endpoint, `${issuer}/token`);
        assert.equal(metadata.authorization_endpoint, `${issuer}/authorize`);
        assert.equal(metadata.revocation_endpoint, `${issuer}/revoke`);
        assert.equal(metadata.introspection_endpoint, `${issuer}/introspect`);
        assert.equal(metadata.jwks_uri, `${issuer}/.well-known/jwks.json`);
        assert.deepEqual([...(metadata.grant_types_supported as string[])].sort(), [
          'authorization_code',
          'client_credentials',
          'password',
          'refresh_token',
          'urn:portcullis:params:oauth:grant-type:mfa',
        ]);
        for (const method of ['client_secret_basic', 'client_secret_post']) {
          assert.ok((metadata.token_endpoint_auth_methods_supported as string[]).includes(method), method);
          assert.ok((metadata.introspection_endpoint_auth_methods_supported as string[]).includes(method), method);
          assert.ok((metadata.revocation_endpoint_auth_methods_supported as string[]).includes(method), method);
        }
        assert.ok(Array.isArray(metadata.scopes_supported));
        assert.deepEqual(metadata.access_token_signing_alg_values_supported, [alg]);

        const jwks = await fetch(metadata.jwks_uri as string);
        assert.equal(jwks.status, 200);
        assert.deepEqual(await jwks.json(), await fetchJwks(server()));
        const token = await fetch(metadata.token_endpoint as string, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ username: 'alice', password: PASSWORD }).toString(),
        });
        assert.equal(token.status, 200);
        const { access_token: accessToken } = (await token.json()) as { access_token: string };
        // RFC 7009 §2.2: an unknown token is "revoked" with a 200; RFC 7662: introspection needs a client.
        const form = { 'content-type': 'application/x-www-form-urlencoded' };
        const revoked = await fetch(metadata.revocation_endpoint as string, { method: 'POST', headers: form, body: 'token=unknown' });
        assert.equal(revoked.status, 200);
        const introspected = await fetch(metadata.introspection_endpoint as string, {
          method: 'POST',
          headers: form,
          body: new URLSearchParams({ token: accessToken }).toString(),
        });
        assert.equal(introspected.status, 401);
      });

      it('refuses algorithm confusion, a foreign key under a real kid, an unknown kid and no kid', async () => {
        const real = await login(server(), 'alice', PASSWORD);
        const claims = payloadOf(real);
        const { current, next } = await keyStates(server());
        const jwk = (await fetchJwks(server())).keys.find((key) => key.kid === current)!;
        const publicPem = createPublicKey({ key: { ...jwk }, format: 'jwk' })
          .export({ type: 'spki', format: 'pem' })
          .toString();
        const hs256 = (secret: string | Buffer, kid: string | undefined) =>
          new SignJWT(claims)
            .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', ...(kid === undefined ? {} : { kid }) })
            .sign(new Uint8Array(Buffer.from(secret)));

        await assertAccessRefused(server(), await hs256(TEST_SECRET_KEY, current), 'HS256 with SECRET_KEY and the current kid');
        await assertAccessRefused(server(), await hs256(TEST_SECRET_KEY, undefined), 'HS256 with SECRET_KEY and no kid');
        await assertAccessRefused(server(), await hs256(publicPem, current), 'HS256 keyed with the public key PEM');
        await assertAccessRefused(server(), await hs256(publicPem.trim(), current), 'HS256 keyed with the trimmed public key PEM');
        await assertAccessRefused(server(), await hs256(JSON.stringify(jwk), current), 'HS256 keyed with the public JWK');

        const foreign = await generateKeyPair(alg);
        const signForeign = (header: Record<string, unknown>) =>
          new SignJWT(claims).setProtectedHeader({ alg, typ: 'at+jwt', ...header }).sign(foreign.privateKey);
        await assertAccessRefused(server(), await signForeign({ kid: current }), 'another key under the current kid');
        await assertAccessRefused(server(), await signForeign({ kid: next }), 'another key under the next kid');
        await assertAccessRefused(server(), await signForeign({ kid: randomBytes(12).toString('base64url') }), 'an unknown kid');
        await assertAccessRefused(server(), await signForeign({}), 'no kid');
        await assertAccessRefused(server(), `${b64url({ alg: 'none', typ: 'at+jwt', kid: current })}.${b64url(claims)}.`, 'alg none');
        // The real token carrying the same claims still works: the refusals were about the keys, not the claims.
        assert.equal((await server().fetch('/users/me', { headers: bearer(real) })).status, 200);
      });
    });
  }
});
