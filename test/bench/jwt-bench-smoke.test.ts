/** Smoke check that the JWT verification benchmark still runs; numbers are never asserted. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resultLine, runScript } from '../helpers/script.js';

describe('npm run bench:jwt -- --short', () => {
  it('runs to the end and prints a RESULT line', async () => {
    const { code, stdout, stderr } = await runScript('bench/jwt-verify.ts', ['--short']);
    assert.equal(code, 0, stderr);
    assert.equal(typeof resultLine(stdout), 'object');
  });
});
