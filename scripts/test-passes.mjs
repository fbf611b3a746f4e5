// Runs passes of the test suite (scripts/run-tests.mjs) with their output passed through, and reports
// them: one summary line per pass and a total line, `N passed, N failed`. Shared by scripts/test.mjs
// (npm test) and scripts/test-runtimes.mjs (npm run test:runtimes).
import { spawn } from 'node:child_process';
import { stripVTControlCharacters } from 'node:util';

/**
 * Runs `node runTests ...args` (node: a path to a Node binary) in cwd; resolves with its exit code,
 * signal, the counts of its summary (`ℹ pass N`, ...) and, for a pass run-tests.mjs skipped, why.
 */
export function runPass({ node = process.execPath, runTests, args, cwd, env = process.env }) {
  // The test runner colours its report only on a terminal; the output goes through a pipe here.
  const childEnv = process.stdout.isTTY && env.FORCE_COLOR === undefined ? { ...env, FORCE_COLOR: '1' } : env;
  const child = spawn(node, [runTests, ...args], { cwd, stdio: ['inherit', 'pipe', 'inherit'], env: childEnv });
  const counts = {};
  let skipped;
  let partial = '';
  const scan = (line) => {
    const plain = stripVTControlCharacters(line);
    const count = /^ℹ (tests|pass|fail|cancelled|skipped|todo) (\d+)\s*$/.exec(plain);
    if (count) counts[count[1]] = Number(count[2]);
    if (plain.startsWith('# skipped: ')) skipped = plain.slice('# skipped: '.length);
  };
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    lines.forEach(scan);
  });
  return new Promise((resolve) => {
    child.once('error', (error) => resolve({ code: 1, counts, skipped, error }));
    child.once('close', (code, signal) => {
      scan(partial);
      resolve({ code: code ?? 1, signal, counts, skipped });
    });
  });
}

/**
 * Prints `# <title>: summary`, one line per result and the total line; returns whether every pass
 * passed. A result is `{ name, ...runPass's result }`, or `{ name, failure }` for a pass that could
 * not run (said with its reason and counted as one failure, as is a pass that ended without a
 * test summary, so that the total line never reads "0 failed" for a failed run).
 */
export function reportPasses(title, results) {
  let passed = 0;
  let failed = 0;
  let ok = true;
  console.log(`\n# ${title}: summary`);
  for (const { name, failure, code, signal, counts = {}, skipped, error } of results) {
    const exit = signal ? `signal ${signal}` : `exit ${code}`;
    if (failure !== undefined) {
      ok = false;
      failed += 1;
      console.log(`# ${name}: FAILED, ${failure}`);
      continue;
    }
    if (skipped !== undefined && code === 0) {
      console.log(`# ${name}: skipped (${skipped})`);
      continue;
    }
    if (counts.pass === undefined || counts.fail === undefined) {
      ok = false;
      failed += 1;
      console.log(`# ${name}: FAILED, ended without a test summary (${error ? error.message : exit})`);
      continue;
    }
    const passFailed = counts.fail + (counts.cancelled ?? 0);
    passed += counts.pass;
    failed += passFailed;
    if (code !== 0 || passFailed > 0) ok = false;
    const extra = [
      counts.cancelled ? `${counts.cancelled} cancelled` : '',
      counts.skipped ? `${counts.skipped} skipped` : '',
      counts.todo ? `${counts.todo} todo` : '',
    ].filter(Boolean);
    const verdict = code === 0 && passFailed === 0 ? 'ok' : 'FAILED';
    console.log(
      `# ${name}: ${verdict}, ${counts.pass} passed, ${passFailed} failed${extra.length ? ` (${extra.join(', ')})` : ''}, ${exit}`,
    );
  }
  console.log(`${passed} passed, ${failed} failed`);
  return ok;
}
