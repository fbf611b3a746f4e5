import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/cli.js';

/** `node scripts/test.mjs ...paths` (npm test's two passes, on just these files). */
function npmTestPasses(paths: readonly string[]): Promise<{ code: number | null; stdout: string }> {
  // Without NODE_TEST_CONTEXT, which would make the nested test runner report to this one instead of printing its summary.
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['scripts/test.mjs', ...paths], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.resume();
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout })));
}

describe('npm test (scripts/test.mjs)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-npm-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the PostgreSQL pass after a failed SQLite pass, reports both, and fails', async () => {
    const file = join(dir, 'database.test.ts');
    writeFileSync(
      file,
      `import { it } from 'node:test';
import assert from 'node:assert/strict';
it('passes', () => undefined);
it('fails on SQLite only', () => assert.equal(process.env.TEST_DATABASE, 'postgres'));
`,
    );
    const { code, stdout } = await npmTestPasses([file]);
    assert.equal(code, 1, stdout);
    const lines = stdout.trimEnd().split('\n');
    assert.match(lines.at(-3)!, /^# SQLite pass \(.*\): FAILED, 1 passed, 1 failed, exit 1$/);
    const postgres = lines.at(-2)!;
    if (postgres.includes('skipped')) {
      // PostgreSQL does not answer here (allowed outside CI: scripts/run-tests.mjs).
      assert.notEqual(process.env.CI, 'true', postgres);
      assert.match(postgres, /^# PostgreSQL pass \(.*\): skipped \(/);
      assert.equal(lines.at(-1), '1 passed, 1 failed');
    } else {
      assert.match(postgres, /^# PostgreSQL pass \(.*\): ok, 2 passed, 0 failed, exit 0$/);
      assert.equal(lines.at(-1), '3 passed, 1 failed');
    }
  });

  it('fails, and says so, when a pass ends without a test summary', async () => {
    const { code, stdout } = await npmTestPasses([join(dir, 'missing.test.ts')]);
    assert.equal(code, 1, stdout);
    const lines = stdout.trimEnd().split('\n');
    assert.match(lines.at(-3)!, /^# SQLite pass \(.*\): FAILED, ended without a test summary \(exit 1\)$/);
    assert.equal(lines.at(-1), '0 passed, 2 failed');
  });
});
