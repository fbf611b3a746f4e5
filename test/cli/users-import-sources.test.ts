/**
 * `portcullis users import --from SOURCE` as an operator runs it (spawned dist/): a dry run
 * prints the plan and the per-format login cost and writes nothing; the real run prints the
 * summary line; a re-run skips the users that exist; --update replaces them; source flags are
 * checked. The exports are test/fixtures/import-sources/'s.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { cliEnv, makeDataDir, runCli, type CliResult } from '../helpers/cli.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/import-sources/${name}`, import.meta.url));
const FIREBASE_FLAGS = [
  '--hash-key',
  'jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==',
  '--salt-separator',
  'Bw==',
  '--rounds',
  '8',
  '--mem-cost',
  '14',
];

describe('portcullis users import --from', () => {
  const dataDir = makeDataDir();
  after(() => rmSync(dataDir, { recursive: true, force: true }));
  const run = (...args: string[]): Promise<CliResult> => runCli(['users', 'import', ...args], { env: cliEnv(dataDir) });
  const usernames = async (): Promise<string[]> => {
    const listed = await runCli(['users', 'list', '--json'], { env: cliEnv(dataDir) });
    return (JSON.parse(listed.stdout) as Array<{ username: string }>).map((user) => user.username).sort();
  };

  it('--dry-run prints what would be imported and rejected, the login cost per format, and writes nothing', async () => {
    const result = await run('--from', 'wordpress', fixture('wordpress-wp_users.csv'), '--dry-run', '--skip-invalid');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /would import row 2 \("admin"\): phpass \$P\$/);
    assert.match(result.stdout, /would import row 3 \("wanda"\): WordPress 6\.8\+ bcrypt/);
    assert.match(result.stderr, /rejected row 5 \("handset"\): user_pass is an unsalted MD5/);
    assert.match(result.stderr, /Cost of the first login .*an unknown user's login: [\d.]+ ms/);
    assert.match(result.stderr, /phpass \$P\$ \(log2Iterations=13\): 2 user\(s\), [\d.]+ ms \([\d.]+x\)/);
    assert.match(
      result.stdout,
      /^Dry run, nothing written: would be imported 3 \/ updated 0 \/ skipped 0 \/ rejected 1 \/ weak 0 \(of 4 record\(s\)\)$/m,
    );
    assert.ok(!result.stdout.includes('$P$B') && !result.stderr.includes('$P$B'), 'no hash printed');
    assert.deepEqual(await usernames(), []);
  });

  it('imports, then skips the users that exist on a re-run, and replaces them with --update', async () => {
    const first = await run('--from', 'wordpress', fixture('wordpress-wp_users.csv'), '--skip-invalid');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^Summary: imported 3 \/ updated 0 \/ skipped 0 \/ rejected 1 \/ weak 0 \(of 4 record\(s\)\)$/m);
    assert.deepEqual(await usernames(), ['admin', 'spammer', 'wanda']);
    const again = await run('--from', 'wordpress', fixture('wordpress-wp_users.csv'), '--skip-invalid');
    assert.match(again.stdout, /^Summary: imported 0 \/ updated 0 \/ skipped 3 \/ rejected 1/m);
    const updated = await run('--from', 'wordpress', fixture('wordpress-wp_users.csv'), '--skip-invalid', '--update');
    assert.match(updated.stdout, /^Summary: imported 0 \/ updated 3 \/ skipped 0 \/ rejected 1/m);
  });

  it('says which staff accounts come without the admin scope (django)', async () => {
    const result = await run('--from', 'django', fixture('django-dumpdata.json'), '--dry-run');
    assert.match(result.stderr, /note: 2 staff or superuser account\(s\) come without the admin scope; pass --admin-from-staff/);
    assert.match(result.stderr, /rejected row 6 \("nopass"\): password is unusable in Django/);
    assert.match(
      result.stderr,
      /pbkdf2_sha256 \(Django\) \(iterations=260000\): 5 user\(s\)|pbkdf2_sha256 \(Django\) \(iterations=260000\): 4 user\(s\)/,
    );
    assert.equal(result.code, 2, 'a rejection stops the import (dry or not) without --skip-invalid');
  });

  it('needs the Firebase hash parameters for --from firebase, and refuses source flags for another source', async () => {
    const missing = await run('--from', 'firebase', fixture('firebase-users.json'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /--from firebase needs --hash-key/);
    const misplaced = await run('--from', 'auth0', fixture('auth0-export.ndjson'), '--admin-from-staff');
    assert.match(misplaced.stderr, /--admin-from-staff is for --from django/);
    const unknown = await run('--from', 'okta', fixture('auth0-export.ndjson'));
    assert.match(unknown.stderr, /--from okta: not a known source; one of fastapi, csv, jsonl, django/);
    const firebase = await run('--from', 'firebase', fixture('firebase-users.json'), ...FIREBASE_FLAGS, '--skip-invalid');
    assert.equal(firebase.code, 0, firebase.stderr);
    assert.match(firebase.stdout, /^Summary: imported 1 \/ updated 0 \/ skipped 0 \/ rejected 2/m);
  });
});
