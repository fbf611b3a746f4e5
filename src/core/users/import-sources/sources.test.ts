import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { djangoPasswordHash } from './django-source.js';
import { ImportFileError, IMPORT_SOURCES, type SourceRecord } from './sources.js';
import { keycloakPasswordHash } from './keycloak-source.js';
import { parsePgTimestamp } from './supabase-source.js';
import { standardBase64 } from './firebase-source.js';

const NOW = Date.UTC(2030, 0, 1);
const BCRYPT = '$2b$04$EixZaYVK1fsbw1ZfbX3OXePaWxn96p36WQoeG6Lruj3vjPGga31lW';

function reasons(records: readonly SourceRecord[]): Array<[number, string]> {
  return records.flatMap((record) => ('reason' in record ? [[record.line, record.reason] as [number, string]] : []));
}

describe('import sources', () => {
  it('refuse a file that is not their export as a whole, saying what they expect', () => {
    const cases: Array<[keyof typeof IMPORT_SOURCES, string, RegExp]> = [
      ['django', '{"users": []}', /dumpdata export is a JSON array/],
      ['keycloak', '[]', /realm export is a JSON object with a users list/],
      ['firebase', '{"users": []}', /needs the project hash parameters/],
      ['supabase', '{}', /array of rows/],
      ['fastapi', '42', /array of users or an object of users by name/],
      ['csv', 'username,password_hash\n"unterminated,x\n', /not valid CSV/],
      ['django', '[{', /not valid JSON/],
    ];
    for (const [source, text, message] of cases) {
      assert.throws(
        () => IMPORT_SOURCES[source].read(text, { nowMs: NOW, format: source === 'supabase' ? 'json' : undefined }),
        (error: unknown) => {
          assert.ok(error instanceof ImportFileError);
          assert.match(error.message, message);
          return true;
        },
      );
    }
  });

  it('reject a record that is not an object, or lacks a field, with its position and never crash', () => {
    const { records } = IMPORT_SOURCES.django.read(JSON.stringify([42, { fields: { username: 'x1x' } }, { fields: 'no' }]), { nowMs: NOW });
    assert.deepEqual(reasons(records), [
      [1, 'a dumpdata record must be an object'],
      [2, 'password is missing'],
      [3, 'fields must be an object'],
    ]);
    assert.equal('reason' in records[1]! && records[1].username, 'x1x');
  });

  it('read Django passwords as its hashers store them, naming the hashers not read', () => {
    assert.equal(djangoPasswordHash(`bcrypt$${BCRYPT}`), BCRYPT);
    assert.equal(
      djangoPasswordHash('argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$aGFzaA'),
      '$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$aGFzaA',
    );
    assert.equal(djangoPasswordHash('pbkdf2_sha256$1000$salt$hash='), 'pbkdf2_sha256$1000$salt$hash=');
    assert.throws(() => djangoPasswordHash('!unusable'), /unusable/);
    assert.throws(() => djangoPasswordHash(`bcrypt_sha256$${BCRYPT}`), /Django's bcrypt_sha256 hasher, which is not read here/);
    assert.throws(() => djangoPasswordHash('md5$salt$abc'), /md5 hasher/);
    assert.throws(() => djangoPasswordHash('plain'), /not a Django password hash/);
  });

  it('turn Keycloak credentials into the canonical strings, and name an algorithm not read', () => {
    const credential = (algorithm: string, extra: object = {}) => ({
      type: 'password',
      secretData: JSON.stringify({ value: 'dmFsdWU=', salt: 'c2FsdHNhbHQ=' }),
      credentialData: JSON.stringify({ hashIterations: 27500, algorithm, ...extra }),
    });
    assert.equal(keycloakPasswordHash(credential('pbkdf2-sha512')), 'keycloak-pbkdf2-sha512$27500$c2FsdHNhbHQ=$dmFsdWU=');
    assert.equal(
      keycloakPasswordHash(
        credential('argon2', {
          additionalParameters: { type: ['id'], version: ['1.3'], memory: ['7168'], parallelism: ['1'], hashLength: ['32'] },
        }),
      ),
      '$argon2id$v=19$m=7168,t=27500,p=1$c2FsdHNhbHQ$dmFsdWU',
    );
    assert.throws(() => keycloakPasswordHash(credential('bcrypt')), /algorithm bcrypt is not read here/);
    assert.throws(() => keycloakPasswordHash({ ...credential('pbkdf2'), secretData: '{' }), /secretData is not valid JSON/);
  });

  it('read PostgreSQL timestamps as Supabase exports them', () => {
    assert.equal(parsePgTimestamp('2024-03-01 09:00:00.123456+00', 'x'), Date.UTC(2024, 2, 1, 9, 0, 0, 123));
    assert.equal(parsePgTimestamp('2024-03-01T09:00:00Z', 'x'), Date.UTC(2024, 2, 1, 9));
    assert.equal(parsePgTimestamp('infinity', 'x'), Number.POSITIVE_INFINITY);
    assert.throws(() => parsePgTimestamp('soon', 'banned_until'), /banned_until is not a timestamp/);
  });

  it('take Firebase values in URL-safe or unpadded base64 too', () => {
    assert.equal(standardBase64('-_8'), '+/8=');
    assert.equal(standardBase64('Bw=='), 'Bw==');
  });

  it('read the documented columns, scopes as a list or text, and booleans as t/f', () => {
    const { records } = IMPORT_SOURCES.jsonl.read(
      [
        JSON.stringify({ username: 'ann', password_hash: BCRYPT, email_verified: 't', scopes: ['me', 'items'] }),
        '',
        JSON.stringify({ username: 'bob', password_hash: BCRYPT, disabled: 'f', scopes: 'me,items' }),
        JSON.stringify({ username: 'cy', password_hash: BCRYPT, scopes: 'bad scope"' }),
      ].join('\n'),
      { nowMs: NOW },
    );
    const users = records.flatMap((record) => ('user' in record ? [record.user] : []));
    assert.deepEqual(
      users.map((user) => [user.username, user.emailVerified, user.disabled, user.scopes]),
      [
        ['ann', true, false, ['me', 'items']],
        ['bob', false, false, ['me', 'items']],
      ],
    );
    assert.equal(reasons(records)[0]?.[0], 4);
    assert.match(reasons(records)[0]?.[1] ?? '', /^scopes: /);
  });

  it('disable a Supabase user banned until later, not one whose ban ended', () => {
    const row = (banned: string) => ({ email: 'a@example.com', encrypted_password: BCRYPT, banned_until: banned });
    const { records } = IMPORT_SOURCES.supabase.read(JSON.stringify([row('2999-01-01 00:00:00+00'), row('2020-01-01 00:00:00+00')]), {
      nowMs: NOW,
      format: 'json',
    });
    assert.deepEqual(
      records.map((record) => 'user' in record && record.user.disabled),
      [true, false],
    );
  });
});
