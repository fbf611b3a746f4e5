/** The attack script (npm run attack) in its short form: every defence must hold. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runScript } from '../helpers/script.js';

describe('npm run attack -- --short', () => {
  it('shows every defence holding', async () => {
    const { code, stdout, stderr } = await runScript('scripts/attack.ts', ['--short'], 90_000);
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    assert.doesNotMatch(stdout, /^FAILED/m);
    assert.match(stdout, /defences held: (\d+) of \1\n/);
  });
});
