/** `npm run bench:challenge -- --short`: the browser and native solvers and the server's side all run, and report. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { browserSkipReason } from '../helpers/browser-solver.js';
import { resultLine, runScript } from '../helpers/script.js';

const reason = browserSkipReason();
const skip = reason !== undefined && process.env.CI !== 'true' ? `${reason}; under CI=true this test fails instead` : false;

describe('npm run bench:challenge -- --short', { skip }, () => {
  it('solves each level in Chromium and natively, and reports the server cost', async () => {
    const { code, stdout, stderr } = await runScript('bench/challenge-solve.ts', ['--short'], 180_000);
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    const result = resultLine(stdout) as {
      levels: Array<{ level: number; browserMs: number; nativeMs: number }>;
      issueUs: number;
      checkUs: number;
    };
    assert.deepEqual(
      result.levels.map((row) => row.level),
      [0, 1],
    );
    for (const row of result.levels) assert.ok(row.browserMs > 0 && row.nativeMs > 0, JSON.stringify(row));
    assert.ok(result.issueUs > 0 && result.checkUs > 0);
  });
});
