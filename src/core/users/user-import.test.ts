import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fixedClock } from '../clock.js';
import { UsernameTakenError } from '../errors.js';
import type { NewUser, UserImportBatch, UserListPage } from '../ports.js';
import type { User } from './user.js';
import { importUsers, type ImportReport, type ImportStore } from './user-import.js';
import { fastapiRecords } from './import-sources/fastapi-source.js';
import type { SourceRecord } from './import-sources/import-source.js';
import { arrayRecords } from './import-sources/read-records.js';
import { emailKey } from './user-fields.js';

const NOW_MS = Date.UTC(2030, 0, 15, 12, 0, 0);
// Shape-valid hashes: import only checks the format, it never verifies them.
const BCRYPT = '$2b$12$EixZaYVK1fsbw1ZfbX3OXePaWxn96p36WQoeG6Lruj3vjPGga31lW';
const BCRYPT_2A = '$2a$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW';
const BCRYPT_2Y = '$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a';
const ARGON2 = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA';

/** A tiny UserStore: enough for import's two calls, with every write recorded. */
class MemoryUserStore implements ImportStore {
  readonly users = new Map<string, User>();
  readonly createManyCalls: Array<{ users: readonly NewUser[]; nowMs: number }> = [];
  readonly replaced: NewUser[] = [];

  constructor(existing: readonly string[] = []) {
    for (const key of existing) this.users.set(key, this.toUser({ ...newUser(key), usernameKey: key }, 0));
  }

  private toUser(user: NewUser, nowMs: number): User {
    return {
      ...user,
      emailVerified: user.emailVerified === true,
      mfaRequired: user.mfaRequired === true,
      id: `id-${this.users.size + 1}`,
      createdAt: nowMs,
      updatedAt: nowMs,
      tokenVersion: 0,
    };
  }

  async findByKey(key: string): Promise<User | undefined> {
    return this.users.get(key);
  }

  async create(user: NewUser, nowMs: number): Promise<User> {
    if (this.users.has(user.usernameKey)) throw new UsernameTakenError();
    const created = this.toUser(user, nowMs);
    this.users.set(user.usernameKey, created);
    return created;
  }

  async createMany(users: readonly NewUser[], nowMs: number): Promise<void> {
    this.createManyCalls.push({ users, nowMs });
    if (users.some((user) => this.users.has(user.usernameKey))) throw new UsernameTakenError();
    for (const user of users) this.users.set(user.usernameKey, this.toUser(user, nowMs));
  }

  async importMany(batch: UserImportBatch, nowMs: number): Promise<string[]> {
    await this.createMany(batch.create, nowMs);
    this.replaced.push(...batch.replace);
    return batch.replace.map((user) => this.users.get(user.usernameKey)!.id);
  }

  async findByVerifiedEmail(key: string): Promise<User | undefined> {
    return [...this.users.values()].find((user) => user.emailVerified && user.email !== null && emailKey(user.email) === key);
  }

  async list(): Promise<UserListPage> {
    return { users: [...this.users.values()], next: undefined };
  }

  async existingKeys(keys: readonly string[]): Promise<Set<string>> {
    return new Set(keys.filter((key) => this.users.has(key)));
  }

  async setDisabled(): Promise<boolean> {
    throw new Error('not used by import');
  }

  async remove(): Promise<boolean> {
    throw new Error('not used by import');
  }

  async setPasswordHash(): Promise<boolean> {
    throw new Error('not used by import');
  }
}

function newUser(username: string): NewUser {
  return { username, usernameKey: username, email: null, fullName: null, passwordHash: BCRYPT, disabled: false, scopes: [] };
}

function rows(...fields: Array<Record<string, unknown>>): SourceRecord[] {
  return fastapiRecords(arrayRecords(fields));
}

function row(username: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { username, hashed_password: BCRYPT, email: `${username.toLowerCase()}@example.com`, full_name: '', disabled: 'false', ...extra };
}

const clock = fixedClock(NOW_MS);

/** The report without its plan and ids. */
function summary({ planned: _planned, updatedIds: _ids, ...rest }: ImportReport): Omit<ImportReport, 'planned' | 'updatedIds'> {
  return rest;
}

describe('importUsers', () => {
  it('imports valid rows with their fields, normalised, in one write', async () => {
    const store = new MemoryUserStore();
    const report = await importUsers(
      store,
      clock,
      rows(
        { username: 'johndoe', hashed_password: BCRYPT, email: 'johndoe@example.com', full_name: 'John Doe', disabled: 'False' },
        { username: 'Ａｌｉｃｅ', hashed_password: ARGON2, email: '', full_name: '  Alice  ', disabled: true },
        { username: 'bob', hashed_password: BCRYPT_2A },
        { username: 'carol', hashed_password: BCRYPT_2Y, disabled: 1 },
      ),
      { scopes: ['me', 'items'] },
    );
    assert.deepEqual(summary(report), { total: 4, written: true, imported: 4, updated: 0, skipped: 0, weak: 0, rejected: [] });
    assert.equal(store.createManyCalls.length, 1);
    assert.equal(store.createManyCalls[0]?.nowMs, NOW_MS);
    assert.deepEqual(store.createManyCalls[0]?.users, [
      {
        username: 'johndoe',
        usernameKey: 'johndoe',
        email: 'johndoe@example.com',
        emailVerified: false,
        fullName: 'John Doe',
        passwordHash: BCRYPT,
        disabled: false,
        scopes: ['me', 'items'],
      },
      {
        username: 'Alice',
        usernameKey: 'alice',
        email: null,
        emailVerified: false,
        fullName: 'Alice',
        passwordHash: ARGON2,
        disabled: true,
        scopes: ['me', 'items'],
      },
      {
        username: 'bob',
        usernameKey: 'bob',
        email: null,
        emailVerified: false,
        fullName: null,
        passwordHash: BCRYPT_2A,
        disabled: false,
        scopes: ['me', 'items'],
      },
      {
        username: 'carol',
        usernameKey: 'carol',
        email: null,
        emailVerified: false,
        fullName: null,
        passwordHash: BCRYPT_2Y,
        disabled: true,
        scopes: ['me', 'items'],
      },
    ]);
  });

  it('imports the legacy formats as they are, and weak ones only with allowWeak, counted', async () => {
    const legacy = [
      'pbkdf2_sha256$1000$c2FsdHNhbHQ$8v0jVvJb2v4cIcrDzBIvS1p6c/0Fsz1UeAcgi6pbpYo=',
      '$scrypt$ln=4,r=1,p=1$$d9ZXYjhleyA7GcpCwYoEl/FrSETjB0ro39/6P+3iFEI',
      '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1',
      '$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0',
    ];
    const weak = '$salted-sha256$salt-last$c2FsdA==$' + Buffer.alloc(32).toString('base64');
    const fields = [...legacy, weak].map((hashed_password, i) => row(`user${i}`, { hashed_password }));
    const refused = await importUsers(new MemoryUserStore(), clock, rows(...fields));
    assert.deepEqual(
      refused.rejected.map((rejection) => rejection.line),
      [5],
    );
    const store = new MemoryUserStore();
    const report = await importUsers(store, clock, rows(...fields), { allowWeak: true });
    assert.deepEqual(summary(report), { total: 5, written: true, imported: 5, updated: 0, skipped: 0, weak: 1, rejected: [] });
    assert.deepEqual(
      store.createManyCalls[0]?.users.map((user) => user.passwordHash),
      [...legacy, weak],
    );
  });

  it('gives imported users no scopes unless told', async () => {
    const store = new MemoryUserStore();
    await importUsers(store, clock, rows(row('alice')));
    assert.deepEqual(store.createManyCalls[0]?.users[0]?.scopes, []);
  });

  it('reads disabled as true/false, 1/0, yes/no in any case, and empty as false', async () => {
    const values: Array<[unknown, boolean]> = [
      ['TRUE', true],
      [' yes ', true],
      ['1', true],
      [1, true],
      [true, true],
      ['False', false],
      ['no', false],
      ['0', false],
      [0, false],
      [false, false],
      ['', false],
      [undefined, false],
      [null, false],
    ];
    const store = new MemoryUserStore();
    const report = await importUsers(store, clock, rows(...values.map(([disabled], i) => row(`user${i}`, { disabled }))));
    assert.equal(report.imported, values.length);
    assert.deepEqual(
      store.createManyCalls[0]?.users.map((user) => user.disabled),
      values.map(([, expected]) => expected),
    );
  });

  describe('rejections', () => {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['a missing hash', row('alice', { hashed_password: undefined }), /hashed_password is missing/],
      ['an empty hash', row('alice', { hashed_password: '' }), /hashed_password is missing/],
      ['a plain-text password as hash', row('alice', { hashed_password: 'secret' }), /not a supported hash format/],
      ['a truncated bcrypt hash', row('alice', { hashed_password: BCRYPT.slice(0, -1) }), /looks like a bcrypt hash but is malformed/],
      [
        'an argon2id hash of 1 GiB',
        row('alice', { hashed_password: ARGON2.replace('m=19456', 'm=1048576') }),
        /memory 1048576 KiB is above the import bound/,
      ],
      [
        'a bcrypt hash of cost 17',
        row('alice', { hashed_password: BCRYPT.replace('$12$', '$17$') }),
        /cost 17 is above the import bound of 16/,
      ],
      [
        'a salted SHA-1 hash without allowWeak',
        row('alice', { hashed_password: '$salted-sha1$salt-first$c2FsdA==$qUqP5cyxm6YcTAhz05Hph5gvu9M=' }),
        /weak hash: pass --allow-weak/,
      ],
      ['a missing username', row('', { username: undefined }), /username is missing/],
      ['a too-short username', row('al'), /Username must be 3 to 64/],
      ['a username with a space', row('al ice'), /Username may contain only/],
      ['an invalid e-mail', row('alice', { email: 'not-an-email' }), /Invalid e-mail/],
      ['a non-text e-mail', row('alice', { email: 42 }), /email must be text/],
      ['a full name with control characters', row('alice', { full_name: 'A\u0000B' }), /control characters/],
      ['disabled = maybe', row('alice', { disabled: 'maybe' }), /disabled must be true or false/],
      ['disabled = 2', row('alice', { disabled: 2 }), /disabled must be true or false/],
    ];
    for (const [what, fields, reason] of cases) {
      it(`rejects a row with ${what}, with its line number and reason`, async () => {
        const store = new MemoryUserStore();
        const report = await importUsers(store, clock, rows(row('first'), fields, row('third')));
        assert.equal(report.total, 3);
        assert.equal(report.imported, 0);
        assert.equal(report.rejected.length, 1);
        assert.equal(report.rejected[0]?.line, 2);
        assert.match(report.rejected[0]?.reason ?? '', reason);
      });
    }

    it('names the username of a rejected row when there is one', async () => {
      const report = await importUsers(new MemoryUserStore(), clock, rows(row('alice', { disabled: 'maybe' })));
      assert.equal(report.rejected[0]?.username, 'alice');
    });

    it('rejects a later duplicate of a username, case-insensitively and after NFKC', async () => {
      const report = await importUsers(
        new MemoryUserStore(),
        clock,
        rows(row('alice'), row('bob'), row('ALICE'), row('ａｌｉｃｅ', { email: '' })),
      );
      assert.deepEqual(
        report.rejected.map(({ line, reason }) => ({ line, reason })),
        [
          { line: 3, reason: 'duplicate of the username on row 1' },
          { line: 4, reason: 'duplicate of the username on row 1' },
        ],
      );
    });

    it('skips usernames that are registered already, case-insensitively, and imports the rest', async () => {
      const store = new MemoryUserStore(['alice']);
      const report = await importUsers(store, clock, rows(row('bob'), row('Alice')));
      assert.deepEqual(summary(report), { total: 2, written: true, imported: 1, updated: 0, skipped: 1, weak: 0, rejected: [] });
      assert.deepEqual(
        report.planned.map(({ line, username, action }) => ({ line, username, action })),
        [
          { line: 1, username: 'bob', action: 'create' },
          { line: 2, username: 'Alice', action: 'skip' },
        ],
      );
      assert.deepEqual(
        store.createManyCalls[0]?.users.map((user) => user.username),
        ['bob'],
      );
      assert.deepEqual(store.replaced, []);
    });

    it('replaces users that exist with update, and says whose ids', async () => {
      const store = new MemoryUserStore(['alice']);
      const report = await importUsers(store, clock, rows(row('bob'), row('Alice', { email: 'new@example.com' })), { update: true });
      assert.deepEqual(summary(report), { total: 2, written: true, imported: 1, updated: 1, skipped: 0, weak: 0, rejected: [] });
      assert.deepEqual(
        store.replaced.map((user) => [user.usernameKey, user.email]),
        [['alice', 'new@example.com']],
      );
      assert.deepEqual(report.updatedIds, [store.users.get('alice')!.id]);
    });

    it('plans but writes nothing in a dry run', async () => {
      const store = new MemoryUserStore(['alice']);
      const report = await importUsers(store, clock, rows(row('bob'), row('alice'), row('x')), { dryRun: true, skipInvalid: true });
      assert.deepEqual(summary(report), {
        total: 3,
        written: false,
        imported: 1,
        updated: 0,
        skipped: 1,
        weak: 0,
        rejected: [{ line: 3, username: 'x', reason: report.rejected[0]!.reason }],
      });
      assert.deepEqual(
        report.planned.map((planned) => [planned.username, planned.action, planned.scheme, planned.params]),
        [
          ['bob', 'create', 'bcrypt $2b$', { cost: 12 }],
          ['alice', 'skip', 'bcrypt $2b$', { cost: 12 }],
        ],
      );
      assert.equal(store.createManyCalls.length, 0);
    });

    it('rejects a verified address that another row or account holds', async () => {
      const store = new MemoryUserStore();
      await store.create({ ...newUser('held'), email: 'held@example.com', emailVerified: true }, 0);
      const verified = (username: string, email: string) => ({ username, password_hash: BCRYPT, email, email_verified: true });
      const { csvSource } = await import('./import-sources/tabular-source.js');
      const csv = [
        'username,password_hash,email,email_verified',
        ...[verified('anna', 'a@example.com'), verified('anne', 'A@example.com'), verified('hugo', 'held@example.com')].map(
          (r) => `${r.username},${r.password_hash},${r.email},${r.email_verified}`,
        ),
      ].join('\n');
      const report = await importUsers(store, clock, csvSource.read(csv, { nowMs: NOW_MS }).records, { skipInvalid: true });
      assert.deepEqual(
        report.rejected.map(({ line, reason }) => [line, reason]),
        [
          [3, 'email is verified on row 2 too (a verified address belongs to one account)'],
          [4, 'email is the verified address of another account here'],
        ],
      );
      assert.equal(report.imported, 1);
    });

    it('writes nothing when any row is rejected and skipInvalid is not set', async () => {
      const store = new MemoryUserStore();
      const report = await importUsers(store, clock, rows(row('alice'), row('bob', { hashed_password: 'x' }), row('carol')));
      assert.equal(report.imported, 0);
      assert.equal(store.createManyCalls.length, 0);
      assert.equal(store.users.size, 0);
    });

    it('writes the valid rows with skipInvalid and reports the others', async () => {
      const store = new MemoryUserStore(['dave']);
      const report = await importUsers(
        store,
        clock,
        rows(row('alice'), row('bob', { hashed_password: 'x' }), row('carol'), row('Alice'), row('dave')),
        { skipInvalid: true },
      );
      assert.equal(report.total, 5);
      assert.equal(report.imported, 2);
      assert.equal(report.skipped, 1);
      assert.deepEqual(
        report.rejected.map((rejected) => rejected.line),
        [2, 4],
      );
      assert.deepEqual(
        store.createManyCalls[0]?.users.map((user) => user.username),
        ['alice', 'carol'],
      );
      assert.deepEqual([...store.users.keys()].sort(), ['alice', 'carol', 'dave']);
    });

    it('lists rejections in line order whatever the reason', async () => {
      const store = new MemoryUserStore();
      const report = await importUsers(store, clock, rows(row('alice'), row('x'), row('ALICE'), row('bob', { disabled: 'maybe' })), {
        skipInvalid: true,
      });
      assert.deepEqual(
        report.rejected.map((rejected) => rejected.line),
        [2, 3, 4],
      );
    });
  });

  it('reports progress every 1000 rows and at the end', async () => {
    const progress: Array<[number, number]> = [];
    const many = rows(...Array.from({ length: 2500 }, (_, i) => row(`user${i}`)));
    const report = await importUsers(new MemoryUserStore(), clock, many, {
      onProgress: (done, total) => progress.push([done, total]),
    });
    assert.equal(report.imported, 2500);
    assert.deepEqual(progress, [
      [1000, 2500],
      [2000, 2500],
      [2500, 2500],
    ]);
  });
});
