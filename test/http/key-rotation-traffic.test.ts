/**
 * Rotation under continuous traffic: clients keep logging in, calling
 * /users/me with their new and their previous token, and a resource server
 * (jose's createRemoteJWKSet, caching the JWKS for exactly its Cache-Control
 * max-age and never refetching early for an unknown kid) verifies every
 * token, while the keys rotate three times without force. Not one request
 * or verification may fail.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { SYSTEM } from '../../src/core/action-context.js';
import { sleep } from '../helpers/lifecycle.js';
import { bearer, formPost, type TestServer } from '../helpers/server.js';
import { fetchJwks, headerOf, startOnOwnUrl } from '../helpers/signing-keys.js';

const CLIENTS = 6;
const ROTATIONS = 3;
const JWKS_MAX_AGE_SECONDS = 1;
/** Between rotations at least: longer than the JWKS max-age, so each rotation is allowed without force. */
const ROTATION_GAP_MS = 1_500;

describe('key rotation under continuous traffic', () => {
  let server: TestServer;
  before(async () => {
    server = await startOnOwnUrl({ ALGORITHM: 'EdDSA', JWKS_MAX_AGE_SECONDS: String(JWKS_MAX_AGE_SECONDS) });
    await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) =>
        server.portcullis.users.create({ username: `client${i}`, password: `client${i}-password-1`, scopes: ['me'] }),
      ),
    );
  });
  after(() => server.stop());

  it('loses no request and no verification across three rotations', async () => {
    const metadata = (await (await server.fetch('/.well-known/oauth-authorization-server')).json()) as { issuer: string; jwks_uri: string };
    const jwksResponse = await fetch(metadata.jwks_uri);
    await jwksResponse.arrayBuffer();
    const maxAge = Number(/max-age=(\d+)/.exec(jwksResponse.headers.get('cache-control') ?? '')?.[1]);
    assert.equal(maxAge, JWKS_MAX_AGE_SECONDS);
    // A resource server that honours Cache-Control and does not refetch for an unknown kid within the test:
    // every key that signs must already have been in a JWKS it fetched.
    const keySet = createRemoteJWKSet(new URL(metadata.jwks_uri), { cacheMaxAge: maxAge * 1000, cooldownDuration: 600_000 });

    const failures: string[] = [];
    const signingKids = new Set<string>();
    const counts = { logins: 0, requests: 0, verifications: 0, acrossRotation: 0 };
    let stop = false;
    // Each phase (before, between and after the rotations) lasts until every client has logged in
    // and used its tokens in it: traffic is counted, not assumed from the time a loaded machine took.
    let phaseClients = new Set<number>();
    let phaseDone: () => void = () => undefined;
    const everyClientLoggedIn = async (): Promise<void> => {
      phaseClients = new Set();
      await new Promise<void>((resolve) => (phaseDone = resolve));
    };

    const check = async (token: string, label: string) => {
      const me = await server.fetch('/users/me', { headers: bearer(token) });
      await me.arrayBuffer();
      counts.requests += 1;
      if (me.status !== 200) failures.push(`${label}: /users/me ${me.status} (kid ${String(headerOf(token).kid)})`);
      try {
        await jwtVerify(token, keySet, { issuer: metadata.issuer, algorithms: ['EdDSA'], typ: 'at+jwt' });
        counts.verifications += 1;
      } catch (error) {
        failures.push(`${label}: jose ${(error as Error).name} ${(error as Error).message} (kid ${String(headerOf(token).kid)})`);
      }
    };

    const client = async (i: number) => {
      let previous: string | undefined;
      while (!stop) {
        const response = await formPost(server, '/token', { username: `client${i}`, password: `client${i}-password-1` });
        if (response.status !== 200) {
          failures.push(`client${i}: POST /token ${response.status} ${await response.text()}`);
          phaseDone(); // no waiting for traffic that fails: the assertions below report it
          await sleep(20);
          continue;
        }
        counts.logins += 1;
        const token = ((await response.json()) as { access_token: string }).access_token;
        const kid = headerOf(token).kid as string;
        signingKids.add(kid);
        await check(token, `client${i} new token`);
        if (previous !== undefined) {
          // The token from the previous round: after a rotation, signed by a key that no longer signs.
          if (headerOf(previous).kid !== kid) counts.acrossRotation += 1;
          await check(previous, `client${i} previous token`);
        }
        previous = token;
        phaseClients.add(i);
        if (phaseClients.size === CLIENTS) phaseDone();
      }
    };

    const [initialCurrent] = (await server.portcullis.keys!.list()).filter((key) => key.state === 'current');
    let phase = everyClientLoggedIn();
    const clients = Array.from({ length: CLIENTS }, (_, i) => client(i));
    const promoted: string[] = [];
    try {
      for (let rotation = 0; rotation < ROTATIONS; rotation += 1) {
        // The gap is a lower bound on time (the JWKS max-age must pass); the phase, on traffic.
        await Promise.all([sleep(ROTATION_GAP_MS), phase]);
        // Without force: refused unless the next key has been published for at least the JWKS max-age.
        const result = await server.portcullis.keys!.rotate(SYSTEM);
        assert.equal(result.rotated, true);
        promoted.push(result.current!);
        phase = everyClientLoggedIn();
      }
      // Every client again after the last rotation: its previous token was signed before it.
      await phase;
    } finally {
      stop = true;
      await Promise.all(clients);
    }

    assert.deepEqual(failures, [], `failed: ${failures.length} of ${counts.requests} requests / ${counts.verifications} verifications`);
    assert.deepEqual([...signingKids].sort(), [initialCurrent!.kid, ...promoted].sort(), 'each key signed in turn');
    assert.ok(counts.acrossRotation >= ROTATIONS, `tokens used across a rotation: ${counts.acrossRotation}`);
    assert.ok(counts.logins >= CLIENTS * (ROTATIONS + 1), `every client in every phase: ${JSON.stringify(counts)}`);
    // Nothing has expired yet: every key that signed is still published, plus the next one.
    const published = (await fetchJwks(server)).keys.map((key) => key.kid);
    for (const kid of signingKids) assert.ok(published.includes(kid), `${kid} still published`);
    assert.equal(published.length, signingKids.size + 1);
  });
});
