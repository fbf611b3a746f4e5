/** Smoke check that the login-storm benchmark still runs; latencies are never asserted. */
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { resultLine, runScript } from '../helpers/script.js';

interface StormResult {
  short: boolean;
  file: string;
  idle: { requests: number; p99Ms: number; statuses: Record<string, number> };
  storm: { requests: number; p99Ms: number };
  ratio: { p50: number; p99: number };
  logins: { requests: number; ok200: number; wrong401: number; overloaded503: number; other: number };
  hashPool: { completed: number };
}

describe('npm run bench:storm -- --short', () => {
  it('runs to the end, prints a RESULT line and writes its JSON outside bench/results', async () => {
    const { code, stdout, stderr } = await runScript('bench/login-storm.ts', ['--short']);
    assert.equal(code, 0, stderr);
    const result = resultLine(stdout) as StormResult | undefined;
    assert.ok(result, 'a RESULT line');
    try {
      assert.equal(result.short, true);
      assert.ok(result.file.startsWith(tmpdir()), `short results go to a temp folder, not bench/results (${result.file})`);
      assert.ok(existsSync(result.file));
      assert.ok(result.idle.requests > 0 && result.storm.requests > 0);
      assert.deepEqual(Object.keys(result.idle.statuses), ['200'], 'GET /users/me always answers 200');
      assert.ok(Number.isFinite(result.ratio.p99));
      assert.ok(result.logins.requests > 0);
      assert.equal(result.logins.ok200 + result.logins.wrong401 + result.logins.overloaded503 + result.logins.other, result.logins.requests);
      assert.ok(result.hashPool.completed > 0, 'the storm reached the hashing pool');
    } finally {
      rmSync(dirname(result.file), { recursive: true, force: true });
    }
  });
});
