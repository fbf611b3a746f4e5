import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { workerExecArgv } from './worker-node-flags.js';

describe('workerExecArgv', () => {
  it("adds the young-generation cap to the primary's flags", () => {
    assert.deepEqual(workerExecArgv(['--enable-source-maps'], undefined), ['--enable-source-maps', '--max-semi-space-size=2']);
  });

  it('leaves a semi-space size the operator chose, on the command line or in NODE_OPTIONS', () => {
    assert.deepEqual(workerExecArgv(['--max-semi-space-size=8'], undefined), ['--max-semi-space-size=8']);
    assert.deepEqual(workerExecArgv([], '--max-old-space-size=512 --max-semi-space-size=16'), []);
    assert.deepEqual(workerExecArgv([], '--max_semi_space_size=1'), []);
    assert.deepEqual(workerExecArgv([], '--max-old-space-size=512'), ['--max-semi-space-size=2']);
  });
});
