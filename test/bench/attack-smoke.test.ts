/** The attack script (npm run attack) in its short form: every defence must hold. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';

describe('npm run attack -- --short', () => {
  it('shows every defence holding', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/attack.ts', '--short'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    assert.doesNotMatch(stdout, /^FAILED/m);
    assert.match(stdout, /defences held: (\d+) of \1\n/);
  });
});
