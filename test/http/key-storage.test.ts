/**
 * Private signing keys at rest: read straight from the database, they are
 * AES-GCM boxes that give nothing away without SECRET_KEY, that another
 * SECRET_KEY cannot open, and that the right one opens to the PKCS#8 key
 * whose public half is the published JWK. A restart with another SECRET_KEY
 * refuses to start; a restart with the same one keeps every key and token.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { loadConfig } from '../../src/server/config.js';
import type { DatabaseLocation } from '../../src/storage/settings.js';
import { openStorage } from '../../src/storage/sql/open-storage.js';
import { SealedBox } from '../../src/core/sealed-box.js';
import { bearer, login, TEST_SECRET_KEY, type TestServer } from '../helpers/server.js';
import { assertNoPrivateMembers, fetchJwks, headerOf, startOnOwnUrl } from '../helpers/signing-keys.js';

const PURPOSE = 'signing-key/v1';
const OTHER_SECRET_KEY = 'another-secret-key-that-is-long-enough-9876543210';
const PASSWORD = 'alice-password-1';

interface KeyRow {
  kid: string;
  algorithm: string;
  state: string;
  public_jwk: string;
  private_sealed: string;
}

/** The rows as stored, through a connection of the test's own (not the server's). */
async function readKeyRows(database: DatabaseLocation): Promise<KeyRow[]> {
  const storage = openStorage(database);
  try {
    return await storage.dialect.db
      .selectFrom('signing_keys')
      .select(['kid', 'algorithm', 'state', 'public_jwk', 'private_sealed'])
      .orderBy('created_at')
      .execute();
  } finally {
    await storage.close();
  }
}

describe('signing keys at rest', () => {
  let server: TestServer;
  let token: string;

  before(async () => {
    server = await startOnOwnUrl({ ALGORITHM: 'RS256' });
    await server.portcullis.users.create({ username: 'alice', password: PASSWORD, scopes: ['me'] });
    token = await login(server, 'alice', PASSWORD);
  });
  after(() => server.stop());

  it('stores sealed boxes that reveal nothing of the key and that another SECRET_KEY cannot open', async () => {
    const rows = await readKeyRows(server.config.database);
    assert.deepEqual(rows.map((row) => row.state).sort(), ['current', 'next']);
    const right = new SealedBox(TEST_SECRET_KEY, PURPOSE);
    const wrongSecret = new SealedBox(OTHER_SECRET_KEY, PURPOSE);
    const wrongPurpose = new SealedBox(TEST_SECRET_KEY, 'some-other-purpose/v1');
    const published = (await fetchJwks(server)).keys;

    for (const row of rows) {
      assert.match(row.private_sealed, /^[A-Za-z0-9_-]+$/, 'one opaque base64url string');
      // (Not /MII/: three base64url characters turn up in random ciphertext now and then.)
      assert.doesNotMatch(row.private_sealed, /PRIVATE KEY|BEGIN/);
      const publicJwk = JSON.parse(row.public_jwk) as Record<string, unknown>;
      assertNoPrivateMembers(publicJwk);

      assert.equal(wrongSecret.open(row.private_sealed, row.kid), undefined, 'another SECRET_KEY cannot open it');
      assert.equal(wrongPurpose.open(row.private_sealed, row.kid), undefined, 'a key derived for another purpose cannot open it');
      const otherRow = rows.find((candidate) => candidate.kid !== row.kid)!;
      assert.equal(right.open(row.private_sealed, otherRow.kid), undefined, 'a box is bound to its row (kid)');
      const flipped = Buffer.from(row.private_sealed, 'base64url');
      flipped[20] = flipped[20]! ^ 1;
      assert.equal(right.open(flipped.toString('base64url'), row.kid), undefined, 'an altered box does not open');

      const pem = right.open(row.private_sealed, row.kid);
      assert.ok(pem, 'SECRET_KEY opens it');
      assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n$/, 'a PKCS#8 PEM');
      const privateKey = createPrivateKey(pem);
      assert.equal(privateKey.asymmetricKeyType, 'rsa');
      // Neither the PEM's base64 (any line of it) nor its DER appears in the stored box.
      const body = pem.split('\n').filter((line) => line !== '' && !line.startsWith('-----'));
      for (const line of body) assert.ok(!row.private_sealed.includes(line), 'no line of the PEM body is stored');
      const der = privateKey.export({ type: 'pkcs8', format: 'der' });
      const middle = der.subarray(der.length >> 1, (der.length >> 1) + 32);
      assert.ok(!Buffer.from(row.private_sealed, 'base64url').includes(middle), 'the DER is not stored');

      const derivedPublic = createPublicKey(privateKey).export({ format: 'jwk' });
      const jwk = published.find((candidate) => candidate.kid === row.kid)!;
      assert.equal(derivedPublic.n, jwk.n, 'the private key belongs to the published public key');
      assert.equal(derivedPublic.e, jwk.e);
      assert.equal(publicJwk.n, jwk.n);
    }
    assert.equal(headerOf(token).kid, rows.find((row) => row.state === 'current')!.kid);
  });

  it('refuses to start on the same data with another SECRET_KEY, and keeps keys and tokens with the same one', async () => {
    await server.close(); // keeps the data folder (stop() in after() removes it)
    const env = {
      ALGORITHM: 'RS256',
      HOST: '127.0.0.1',
      PORT: '0',
      ...server.sameDatabase,
      ISSUER: server.config.issuer,
      LOG_LEVEL: 'silent',
    };
    const kidsBefore = (await readKeyRows(server.config.database)).map((row) => [row.kid, row.state]);

    let wrong: RunningServer | undefined;
    await assert.rejects(
      (async () => {
        wrong = await startServer(loadConfig({ ...env, SECRET_KEY: OTHER_SECRET_KEY }));
      })(),
      (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.match(error.message, /cannot be decrypted: was SECRET_KEY changed\?/);
        return true;
      },
    );
    await wrong?.close();
    assert.deepEqual(
      (await readKeyRows(server.config.database)).map((row) => [row.kid, row.state]),
      kidsBefore,
      'the failed start changed no key',
    );

    const restarted = await startServer(loadConfig({ ...env, SECRET_KEY: TEST_SECRET_KEY }));
    try {
      const me = await fetch(`${restarted.url}/users/me`, { headers: bearer(token) });
      assert.equal(me.status, 200, 'a token from before the restart still works');
      assert.deepEqual(
        (await readKeyRows(server.config.database)).map((row) => [row.kid, row.state]),
        kidsBefore,
        'the same keys',
      );
      const relogin = await fetch(`${restarted.url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username: 'alice', password: PASSWORD }).toString(),
      });
      assert.equal(relogin.status, 200);
      assert.equal(headerOf(((await relogin.json()) as { access_token: string }).access_token).kid, headerOf(token).kid);
    } finally {
      await restarted.close();
    }
  });
});
