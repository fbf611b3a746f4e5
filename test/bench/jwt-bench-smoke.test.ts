/** Smoke check that the JWT verification benchmark still runs; numbers are never asserted. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';

describe('npm run bench:jwt -- --short', () => {
  it('runs to the end and prints a RESULT line', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/jwt-verify.ts', '--short'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, stderr);
    const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    assert.ok(line, 'a RESULT line');
    assert.equal(typeof JSON.parse(line.slice('RESULT '.length)), 'object');
  });
});
