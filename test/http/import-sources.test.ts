/**
 * Each import source end to end: its export (test/fixtures/import-sources/: Django's by
 * `manage.py dumpdata auth.user` from users made by create_user; WordPress's wp_users with hashes
 * made by a phpass class and by the lines of WordPress 6.8's wp_hash_password; Supabase, Keycloak,
 * Firebase and Auth0 exports made by hand in the shapes their documentation gives, see
 * make-handmade-exports.mjs) read by the source, imported by the importer, with each rejected
 * record's reason; then an imported user logs in over real HTTP with the password they had (200,
 * hash now argon2id) and a wrong password is refused (401).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { IMPORT_SOURCES, type SourceName, type SourceOptions } from '../../src/core/users/import-sources/sources.js';
import { importUsers, type ImportReport } from '../../src/core/users/user-import.js';
import { formPost, startTestServer, type TestServer } from '../helpers/server.js';

/** The published example of github.com/firebase/scrypt: the project parameters for firebase-users.json. */
export const FIREBASE_EXAMPLE = {
  signerKey: 'jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==',
  saltSeparator: 'Bw==',
  rounds: 8,
  memCost: 14,
};

interface Case {
  readonly source: SourceName;
  readonly file: string;
  readonly options?: Partial<SourceOptions>;
  /** Who logs in, with which password. */
  readonly login: { readonly username: string; readonly password: string };
  /** The imported users as /users/me would show them, by username. */
  readonly mapped: Readonly<
    Record<string, { email: string | null; emailVerified: boolean; fullName: string | null; disabled: boolean; scopes: string[] }>
  >;
  /** Rejected records: line and a pattern of the reason. */
  readonly rejected: ReadonlyArray<readonly [number, RegExp]>;
  readonly notes?: readonly RegExp[];
}

const CASES: readonly Case[] = [
  {
    source: 'django',
    file: 'django-dumpdata.json',
    options: { adminFromStaff: true },
    login: { username: 'ada', password: 'ada-password-1' },
    mapped: {
      ada: { email: 'ada@example.com', emailVerified: false, fullName: 'Ada Lovelace', disabled: false, scopes: [] },
      grace: { email: 'grace@example.com', emailVerified: false, fullName: 'Grace', disabled: false, scopes: ['admin'] },
      linus: { email: 'linus@example.com', emailVerified: false, fullName: null, disabled: false, scopes: ['admin'] },
      ken: { email: null, emailVerified: false, fullName: null, disabled: true, scopes: [] },
      dennis: { email: 'dennis@example.com', emailVerified: false, fullName: null, disabled: false, scopes: [] },
    },
    rejected: [[6, /password is unusable in Django/]],
  },
  {
    source: 'supabase',
    file: 'supabase-auth-users.csv',
    options: { format: 'csv' },
    login: { username: 'sam@example.com', password: 'sam-password-1' },
    mapped: {
      'sam@example.com': { email: 'sam@example.com', emailVerified: true, fullName: 'Sam Supa', disabled: false, scopes: [] },
      'una@example.com': { email: 'una@example.com', emailVerified: false, fullName: 'Una Confirmed-Not', disabled: false, scopes: [] },
      'bart@example.com': { email: 'bart@example.com', emailVerified: true, fullName: null, disabled: true, scopes: [] },
    },
    rejected: [
      [5, /a phone-only user/],
      [6, /no password \(encrypted_password is empty/],
    ],
  },
  {
    source: 'keycloak',
    file: 'keycloak-realm.json',
    options: { scopesFromRoles: true },
    login: { username: 'arne', password: 'arne-password-1' },
    mapped: {
      kim: { email: 'kim@example.com', emailVerified: true, fullName: 'Kim Key', disabled: false, scopes: ['editor'] },
      arne: { email: 'arne@example.com', emailVerified: false, fullName: 'Arne', disabled: false, scopes: [] },
      off: { email: null, emailVerified: false, fullName: null, disabled: true, scopes: [] },
    },
    rejected: [[4, /no password credential \(federated/]],
  },
  {
    source: 'firebase',
    file: 'firebase-users.json',
    options: { firebase: FIREBASE_EXAMPLE },
    login: { username: 'user1@example.com', password: 'user1password' },
    mapped: { 'user1@example.com': { email: 'user1@example.com', emailVerified: true, fullName: 'User One', disabled: false, scopes: [] } },
    rejected: [
      [2, /no passwordHash \(the user signs in through a provider/],
      [3, /no email \(a phone or anonymous user\)/],
    ],
  },
  {
    source: 'auth0',
    file: 'auth0-export.ndjson',
    login: { username: 'alma', password: 'alma-password-1' },
    mapped: {
      alma: { email: 'alma@example.com', emailVerified: true, fullName: 'Alma Auth', disabled: false, scopes: [] },
      'bo@example.com': { email: 'bo@example.com', emailVerified: false, fullName: 'Bo', disabled: false, scopes: [] },
      'blocked@example.com': { email: 'blocked@example.com', emailVerified: true, fullName: null, disabled: true, scopes: [] },
    },
    rejected: [
      [4, /no passwordHash \(a social or passwordless user\)/],
      [5, /not valid JSON/],
    ],
  },
  {
    source: 'wordpress',
    file: 'wordpress-wp_users.csv',
    login: { username: 'wanda', password: 'wanda-password-1' },
    mapped: {
      admin: { email: 'admin@example.com', emailVerified: false, fullName: 'Site Admin', disabled: false, scopes: [] },
      wanda: { email: 'wanda@example.com', emailVerified: false, fullName: 'Wanda Writer', disabled: false, scopes: [] },
      spammer: { email: 'spam@example.com', emailVerified: false, fullName: 'Spammer', disabled: true, scopes: [] },
    },
    rejected: [[5, /user_pass is an unsalted MD5/]],
  },
];

function fixture(file: string): string {
  return readFileSync(new URL(`../fixtures/import-sources/${file}`, import.meta.url), 'utf8');
}

describe('importing from each source, then logging in', () => {
  let server: TestServer;
  const reports = new Map<SourceName, ImportReport>();
  before(async () => {
    server = await startTestServer();
    for (const { source, file, options } of CASES) {
      const { records } = IMPORT_SOURCES[source].read(fixture(file), { nowMs: Date.now(), ...options });
      reports.set(source, await importUsers(server.storage.users, systemClock, records, { skipInvalid: true }));
    }
  });
  after(() => server.stop());

  for (const { source, login, mapped, rejected } of CASES) {
    describe(`--from ${source}`, () => {
      it('imports the users with their fields mapped, and rejects the others with their reason', async () => {
        const report = reports.get(source)!;
        assert.deepEqual(
          report.rejected.map((row) => row.line),
          rejected.map(([line]) => line),
          JSON.stringify(report.rejected),
        );
        rejected.forEach(([, reason], index) => assert.match(report.rejected[index]!.reason, reason));
        assert.equal(report.imported, Object.keys(mapped).length);
        for (const [username, expected] of Object.entries(mapped)) {
          const user = await server.storage.users.findByKey(username.toLowerCase());
          assert.ok(user, username);
          const { email, emailVerified, fullName, disabled, scopes } = user;
          assert.deepEqual({ email, emailVerified, fullName, disabled, scopes: [...scopes] }, expected, username);
        }
      });

      it('lets an imported user log in with their old password, upgrading the hash; a wrong one is refused', async () => {
        const key = login.username.toLowerCase();
        const before = (await server.storage.users.findByKey(key))!.passwordHash;
        assert.doesNotMatch(before, /^\$argon2id\$v=19\$m=19456/);
        assert.equal((await formPost(server, '/token', { username: login.username, password: `${login.password}x` })).status, 401);
        const response = await formPost(server, '/token', login);
        assert.equal(response.status, 200, await response.clone().text());
        assert.match((await server.storage.users.findByKey(key))!.passwordHash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      });
    });
  }
});
