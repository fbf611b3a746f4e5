import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import bcrypt from 'bcryptjs';
import { cliEnv, makeDataDir, runCli, startServe, tokenRequest, type CliResult, type ServeProcess } from '../helpers/cli.js';
import { legacyHash } from '../helpers/legacy-hashes.js';

const COST = 4;

/** As the guide's passlib CryptContext writes it ($2b$), or an older $2a$ or PHP-style $2y$. */
function bcryptHash(password: string, prefix: '$2a$' | '$2b$' | '$2y$' = '$2b$'): string {
  const salt = bcrypt.genSaltSync(COST);
  if (prefix === '$2a$') return bcrypt.hashSync(password, salt.replace('$2b$', '$2a$'));
  return bcrypt.hashSync(password, salt).replace('$2b$', prefix);
}

interface Row {
  username: string;
  password: string;
  hashed_password: string;
  email: string;
  full_name: string;
  disabled: boolean;
}

function row(username: string, password: string, prefix: '$2a$' | '$2b$' | '$2y$', disabled = false): Row {
  return {
    username,
    password,
    hashed_password: bcryptHash(password, prefix),
    email: `${username}@example.com`,
    full_name: `${username[0]!.toUpperCase()}${username.slice(1)} Example`,
    disabled,
  };
}

function exported({ password: _password, ...rest }: Row): Omit<Row, 'password'> {
  return rest;
}

function csvOf(rows: ReadonlyArray<Omit<Row, 'password'>>): string {
  const lines = rows.map((r) => [r.username, r.hashed_password, r.email, `"${r.full_name}"`, String(r.disabled)].join(','));
  return ['username,hashed_password,email,full_name,disabled', ...lines].join('\n') + '\n';
}

function storedHashes(dataDir: string): Map<string, string> {
  const db = new Database(join(dataDir, 'portcullis.db'), { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT username, password_hash FROM users').all() as Array<{ username: string; password_hash: string }>;
    return new Map(rows.map((r) => [r.username, r.password_hash]));
  } finally {
    db.close();
  }
}

async function listUsernames(dataDir: string): Promise<string[]> {
  const result = await runCli(['users', 'list', '--json'], { env: cliEnv(dataDir) });
  assert.equal(result.code, 0, result.stderr);
  return (JSON.parse(result.stdout) as Array<{ username: string }>).map((r) => r.username).sort();
}

function importFile(dataDir: string, file: string, ...flags: string[]): Promise<CliResult> {
  return runCli(['users', 'import', file, ...flags], { env: cliEnv(dataDir) });
}

function assertNoHashPrinted(result: CliResult, rows: readonly Row[]): void {
  for (const r of rows) {
    assert.ok(!result.stdout.includes(r.hashed_password) && !result.stderr.includes(r.hashed_password), 'a hash was printed');
    assert.ok(!result.stdout.includes(r.password) && !result.stderr.includes(r.password), 'a password was printed');
  }
}

describe('portcullis users import', () => {
  const dataDir = makeDataDir();
  // (a) a JSON array
  const arrayRows = [row('anna', 'anna-secret-pw-1', '$2b$'), row('arthur', 'arthur-secret-pw-2', '$2a$')];
  // (b) the guide's fake_users_db dictionary
  const dictRows = [row('johndoe', 'secret-of-john-3', '$2y$'), row('daisy', 'daisy-secret-pw-4', '$2b$', true)];
  // (c) CSV with a header row
  const csvRows = [row('carla', 'carla-secret-pw-5', '$2a$'), row('cedric', 'cedric-secret-pw-6', '$2y$')];
  const all = [...arrayRows, ...dictRows, ...csvRows];
  const enabled = all.filter((r) => !r.disabled);
  let server: ServeProcess | undefined;

  before(() => {
    writeFileSync(join(dataDir, 'array.json'), JSON.stringify(arrayRows.map(exported)));
    const dict = Object.fromEntries(dictRows.map((r) => [r.username, exported(r)]));
    dict.johndoe!.full_name = 'John Doe';
    dictRows[0]!.full_name = 'John Doe';
    writeFileSync(join(dataDir, 'guide.json'), JSON.stringify(dict, null, 4));
    writeFileSync(join(dataDir, 'users.csv'), csvOf(csvRows.map(exported)));
  });
  after(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  for (const [file, rows] of [
    ['array.json', arrayRows],
    ['guide.json', dictRows],
    ['users.csv', csvRows],
  ] as const) {
    it(`imports ${file}, reporting progress on stderr and a summary on stdout`, async () => {
      const result = await importFile(dataDir, join(dataDir, file));
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        result.stdout,
        `Summary: imported ${rows.length} / updated 0 / skipped 0 / rejected 0 / weak 0 (of ${rows.length} record(s))\n`,
      );
      assert.match(result.stderr, /Read \d+ record\(s\)/);
      assert.match(result.stderr, /checked \d+\/\d+ records/);
      assertNoHashPrinted(result, all);
    });
  }

  it('lists every imported user and keeps the bcrypt hashes as they were', async () => {
    assert.deepEqual(await listUsernames(dataDir), all.map((r) => r.username).sort());
    const hashes = storedHashes(dataDir);
    for (const r of all) assert.equal(hashes.get(r.username), r.hashed_password, r.username);
  });

  it('records each import in the audit log, without hashes', async () => {
    const result = await runCli(['audit', '--type', 'users.imported', '--json'], { env: cliEnv(dataDir) });
    assert.equal(result.code, 0, result.stderr);
    const events = JSON.parse(result.stdout) as Array<{ actor: string; details: { imported: number } }>;
    assert.ok(events.length >= 1);
    assert.ok(events.every((event) => event.actor === 'cli' && event.details.imported > 0));
    assert.doesNotMatch(result.stdout, /\$2[aby]\$/);
  });

  it('lets each imported user log in with its original password, upgrading the hash to argon2id', async () => {
    server = await startServe(cliEnv(dataDir));
    for (const r of enabled) {
      assert.match(storedHashes(dataDir).get(r.username)!, /^\$2[aby]\$/);
      const response = await tokenRequest(server.url, r.username, r.password);
      assert.equal(response.status, 200, `${r.username}: ${await response.clone().text()}`);
      const { access_token: token } = (await response.json()) as { access_token: string };
      const me = await server.fetch('/users/me', { headers: { authorization: `Bearer ${token}` } });
      assert.equal(me.status, 200);
      const body = (await me.json()) as Record<string, unknown>;
      assert.equal(body.username, r.username);
      assert.equal(body.email, r.email);
      assert.equal(body.full_name, r.full_name);
      assert.equal(body.disabled, false);
      assert.match(storedHashes(dataDir).get(r.username)!, /^\$argon2id\$/);
    }
    // The upgraded hash keeps working.
    const again = await tokenRequest(server.url, enabled[0]!.username, enabled[0]!.password);
    assert.equal(again.status, 200);
  });

  it('refuses a wrong password for an imported user', async () => {
    const response = await tokenRequest(server!.url, 'carla', 'not-carlas-password');
    assert.equal(response.status, 401);
  });

  it('answers "Inactive user" for a disabled imported user with the right password', async () => {
    const daisy = dictRows[1]!;
    const response = await tokenRequest(server!.url, daisy.username, daisy.password);
    assert.equal(response.status, 401);
    assert.equal(((await response.json()) as { detail: string }).detail, 'Inactive user');
    assert.match(storedHashes(dataDir).get(daisy.username)!, /^\$2b\$/);
  });

  it('skips a user that already exists and imports the others', async () => {
    const file = join(dataDir, 'again.json');
    writeFileSync(
      file,
      JSON.stringify([{ ...exported(row('zoe', 'zoe-secret-pw-7', '$2b$')) }, { ...exported(arrayRows[0]!), username: 'ANNA' }]),
    );
    const result = await importFile(dataDir, file);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Summary: imported 1 \/ updated 0 \/ skipped 1 \/ rejected 0/);
    assert.ok((await listUsernames(dataDir)).includes('zoe'));
  });
});

describe('portcullis users import with rejected rows', () => {
  const dataDir = makeDataDir();
  const good = [row('gina', 'gina-secret-pw-1', '$2b$'), row('gus', 'gus-secret-pw-2', '$2a$')];
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  const cases: Array<{ name: string; bad: Record<string, unknown>; reason: RegExp }> = [
    {
      name: 'an invalid hash',
      bad: { ...exported(row('hank', 'x-secret-pw', '$2b$')), hashed_password: '$2b$04$tooshort' },
      reason: /hashed_password/,
    },
    {
      name: 'a plain-text password',
      bad: { ...exported(row('hank', 'x-secret-pw', '$2b$')), hashed_password: 'secret' },
      reason: /hashed_password/,
    },
    { name: 'a username differing only in case', bad: { ...exported(row('GINA', 'x-secret-pw', '$2b$')) }, reason: /duplicate/ },
    { name: 'an invalid e-mail', bad: { ...exported(row('hank', 'x-secret-pw', '$2b$')), email: 'not-an-email' }, reason: /e-mail/i },
    { name: 'a missing username', bad: { ...exported(row('hank', 'x-secret-pw', '$2b$')), username: '' }, reason: /username is missing/ },
  ];

  for (const { name, bad, reason } of cases) {
    it(`imports nothing when one row has ${name}, naming the row`, async () => {
      const file = join(dataDir, 'bad.json');
      writeFileSync(file, JSON.stringify([...good.map(exported), bad]));
      const result = await importFile(dataDir, file);
      assert.equal(result.code, 2);
      const rejected = result.stderr.split('\n').find((line) => line.includes('rejected row'));
      assert.ok(rejected, result.stderr);
      assert.match(rejected, /rejected row 3\b/);
      assert.match(rejected, reason);
      assert.match(result.stderr, /Imported nothing/);
      assert.deepEqual(await listUsernames(dataDir), []);
    });
  }

  it('names the CSV row of a rejected line', async () => {
    const file = join(dataDir, 'bad.csv');
    const rows = [...good.map(exported), { ...exported(row('hank', 'x-secret-pw', '$2b$')), email: 'nope' }];
    writeFileSync(file, csvOf(rows));
    const result = await importFile(dataDir, file);
    assert.equal(result.code, 2);
    // CSV rows are numbered as lines of the file (the header is line 1), as a spreadsheet shows them.
    assert.match(result.stderr, /rejected row 4 \("hank"\): .*e-mail/i);
    assert.deepEqual(await listUsernames(dataDir), []);
  });

  it('imports the valid rows with --skip-invalid', async () => {
    const file = join(dataDir, 'skip.json');
    writeFileSync(file, JSON.stringify([...good.map(exported), { ...exported(row('hank', 'x', '$2b$')), email: 'bad' }]));
    const result = await importFile(dataDir, file, '--skip-invalid');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Summary: imported 2 \/ updated 0 \/ skipped 0 \/ rejected 1 \/ weak 0 \(of 3 record\(s\)\)/);
    assert.match(result.stderr, /rejected row 3 \("hank"\)/);
    assert.deepEqual(await listUsernames(dataDir), ['gina', 'gus']);
  });

  it('grants --scopes to every imported user', async () => {
    const file = join(dataDir, 'scoped.json');
    writeFileSync(file, JSON.stringify([exported(row('ivy', 'ivy-secret-pw-1', '$2b$'))]));
    const result = await importFile(dataDir, file, '--scopes', 'me items');
    assert.equal(result.code, 0, result.stderr);
    const listed = await runCli(['users', 'list', '--json'], { env: cliEnv(dataDir) });
    const ivy = (JSON.parse(listed.stdout) as Array<{ username: string; scopes: string[] }>).find((r) => r.username === 'ivy');
    assert.deepEqual(ivy?.scopes, ['me', 'items']);
  });

  it('refuses a weak hash without --allow-weak and a PBKDF2 hash of 10 M iterations, each with its reason', async () => {
    const weak = legacyHash('hashlib salted sha256');
    const file = join(dataDir, 'legacy.json');
    const absurd = legacyHash('django').hash.replace(/\$1000\$/, '$10000000$');
    writeFileSync(
      file,
      JSON.stringify([
        { username: 'wanda', hashed_password: weak.hash },
        { username: 'django', hashed_password: legacyHash('django').hash },
        { username: 'pablo', hashed_password: absurd },
      ]),
    );
    const result = await importFile(dataDir, file);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /rejected row 1 \("wanda"\): salted SHA-256 \(salt-last\) is a weak hash: pass --allow-weak to import it/);
    assert.match(
      result.stderr,
      /rejected row 3 \("pablo"\): pbkdf2_sha256 \(Django\) iterations 10000000 is above the import bound of 2,000,000/,
    );
    assert.ok(!result.stderr.includes(weak.hash) && !result.stderr.includes(absurd), 'a hash was printed');

    writeFileSync(file, JSON.stringify([{ username: 'wanda', hashed_password: weak.hash }]));
    const allowed = await importFile(dataDir, file, '--allow-weak');
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stderr, /^warning: --allow-weak: weak hashes \(salted SHA-1\/SHA-256, unstretched\) are imported/m);
    assert.match(allowed.stderr, /^warning: 1 imported user\(s\) have a weak hash until their first login$/m);
    assert.match(allowed.stdout, /Summary: imported 1 \/ updated 0 \/ skipped 0 \/ rejected 0 \/ weak 1/);
    assert.equal(storedHashes(dataDir).get('wanda'), weak.hash);
  });

  const malformed: Array<{ file: string; text: string; message: RegExp }> = [
    { file: 'broken.json', text: '[{"username": "x",', message: /not valid JSON/ },
    { file: 'scalar.json', text: '42', message: /array of users or an object/ },
    { file: 'broken.csv', text: 'username,hashed_password\n"unterminated,x\n', message: /not valid CSV/ },
    { file: 'ragged.csv', text: 'username,hashed_password\nx,y,z\n', message: /not valid CSV/ },
  ];
  for (const { file, text, message } of malformed) {
    it(`refuses a malformed file (${file}) with a clear message`, async () => {
      const path = join(dataDir, file);
      writeFileSync(path, text);
      const result = await importFile(dataDir, path);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    });
  }

  it('refuses a file of unknown format', async () => {
    const txt = join(dataDir, 'users.txt');
    writeFileSync(txt, '[]');
    const unknown = await importFile(dataDir, txt);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /--format/);
  });

  it('says which file it cannot read, and why: missing, or a directory', async () => {
    const missing = join(dataDir, 'nope.json');
    const gone = await importFile(dataDir, missing);
    assert.equal(gone.code, 1);
    assert.equal(gone.stderr, `portcullis: cannot read ${missing}: no such file (ENOENT)\n`);
    const folder = join(dataDir, 'a-folder.json');
    mkdirSync(folder);
    const directory = await importFile(dataDir, folder);
    assert.equal(directory.code, 1);
    assert.equal(directory.stderr, `portcullis: cannot read ${folder}: it is a directory, not a file (EISDIR)\n`);
  });

  it('says so when it may not read the file', { skip: process.getuid?.() === 0 && 'root may read any file' }, async () => {
    const locked = join(dataDir, 'locked.json');
    writeFileSync(locked, '[]');
    chmodSync(locked, 0o000);
    const result = await importFile(dataDir, locked);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `portcullis: cannot read ${locked}: permission denied (EACCES)\n`);
  });
});
