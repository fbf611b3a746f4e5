/** Smoke check that the revocation feed benchmark still runs; numbers are never asserted. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resultLine, runScript } from '../helpers/script.js';

describe('npm run bench:revocations -- --short', () => {
  it('runs to the end and prints a RESULT line with the delays and costs', async () => {
    const { code, stdout, stderr } = await runScript('bench/revocations.ts', ['--short']);
    assert.equal(code, 0, stderr);
    const result = resultLine(stdout) as { delays: unknown[]; costs: unknown[] };
    assert.equal(result.delays.length, 1);
    assert.equal(result.costs.length, 1);
  });
});
