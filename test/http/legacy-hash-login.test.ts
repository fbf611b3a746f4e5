/**
 * Users moved in with the password hashes of the systems they leave: imported through the
 * importer (the CSV `portcullis users import` reads), they log in over real HTTP with the
 * password they had, their hash becomes argon2id at that first login, and a wrong password is
 * refused as for anyone. The hashes are test/fixtures/legacy-hashes' (made by passlib, Django,
 * PHP and openssl) and the published Firebase example, at small costs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { fastapiSource } from '../../src/core/users/import-sources/fastapi-source.js';
import { importUsers } from '../../src/core/users/user-import.js';
import { legacyHash } from '../helpers/legacy-hashes.js';
import { bearer, formPost, startTestServer, type TestServer } from '../helpers/server.js';

/** The example of firebase/scrypt's README, in the canonical string the importer keeps (ADR 0026). */
const FIREBASE = {
  password: 'user1password',
  hash: '$firebase-scrypt$rounds=8,mem_cost=14$jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==$Bw==$42xEC+ixf3L2lw==$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==',
};

const SOURCES: ReadonlyArray<readonly [string, { readonly password: string; readonly hash: string }]> = [
  ['django', legacyHash('django 3.2.25 PBKDF2PasswordHasher')],
  ['passlib-pbkdf2', legacyHash('passlib pbkdf2_sha512')],
  ['keycloak', legacyHash('hashlib as Keycloak pbkdf2-sha256')],
  ['passlib-scrypt', legacyHash('passlib scrypt')],
  ['firebase', FIREBASE],
  ['openssl-sha512', legacyHash('openssl passwd -6')],
  ['wordpress', legacyHash('php phpass portable $P$ 2^8')],
  ['php-argon2i', legacyHash('php password_hash argon2i')],
  ['php-bcrypt', legacyHash('php password_hash bcrypt')],
  ['salted-sha1', legacyHash('hashlib salted sha1')],
];
const USERS = SOURCES.map(([username, { password, hash }]) => ({ username, password, hash }));

function csvOf(users: typeof USERS): string {
  // argon2, scrypt and Firebase strings hold commas: the hash is quoted, as any CSV writer does.
  return ['username,hashed_password', ...users.map((user) => `${user.username},"${user.hash}"`)].join('\n');
}

describe('logging in with an imported legacy password hash', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    const { records: rows } = fastapiSource.read(csvOf(USERS), { format: 'csv', nowMs: Date.now() });
    const refused = await importUsers(server.storage.users, systemClock, rows);
    assert.deepEqual(
      refused.rejected.map((row) => [row.username, row.reason]),
      [['salted-sha1', 'salted SHA-1 (salt-first) is a weak hash: pass --allow-weak to import it']],
      'the weak hash needs allowWeak',
    );
    const report = await importUsers(server.storage.users, systemClock, rows, { allowWeak: true });
    assert.deepEqual([report.imported, report.weak, report.rejected], [USERS.length, 1, []]);
  });
  after(() => server.stop());

  async function storedHash(username: string): Promise<string> {
    const user = await server.storage.users.findByKey(username);
    assert.ok(user, username);
    return user.passwordHash;
  }

  for (const { username, password, hash } of USERS) {
    it(`logs ${username} in with their old password, then keeps argon2id in place of ${hash.slice(0, 16)}…`, async () => {
      assert.equal(await storedHash(username), hash);
      const wrong = await formPost(server, '/token', { username, password: `${password}x` });
      assert.equal(wrong.status, 401);
      assert.equal(await storedHash(username), hash, 'a refused login leaves the hash as it was');

      const response = await formPost(server, '/token', { username, password });
      assert.equal(response.status, 200, await response.clone().text());
      const { access_token } = (await response.json()) as { access_token: string };
      const me = await server.fetch('/users/me', { headers: bearer(access_token) });
      assert.equal(((await me.json()) as { username: string }).username, username);

      const upgraded = await storedHash(username);
      assert.match(upgraded, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      assert.equal((await formPost(server, '/token', { username, password })).status, 200, 'the upgraded hash verifies');
      assert.equal((await formPost(server, '/token', { username, password: `${password}x` })).status, 401);
    });
  }
});
