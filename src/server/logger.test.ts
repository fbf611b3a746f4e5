import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';

/** Runs test/helpers/logger-child.ts in `mode`; its stdout's JSON lines, and how it ended. */
async function child(mode: string): Promise<{ lines: Array<Record<string, unknown>>; code: number | null; signal: NodeJS.Signals | null }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/logger-child.ts', mode], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    proc.on('close', (c, s) => resolve([c, s])),
  );
  return {
    lines: out
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>),
    code,
    signal,
  };
}

describe('createLogger (buffered request lines)', () => {
  it('writes an error line, and the request lines before it, before a crash can take them', async () => {
    const { lines, signal } = await child('error-then-kill');
    assert.equal(signal, 'SIGKILL');
    assert.deepEqual(
      lines.map((line) => line.n),
      [0, 1, 2, 3, 4, 5],
    );
    assert.equal(lines.at(-1)?.msg, 'something failed');
  });

  it('writes the buffered request lines at exit', async () => {
    const { lines, code } = await child('exit');
    assert.equal(code, 0);
    assert.equal(lines.length, 5);
  });

  it('writes them when the process dies of an uncaught exception', async () => {
    const { lines, code } = await child('throw');
    assert.equal(code, 1);
    assert.equal(lines.length, 5);
  });
});
