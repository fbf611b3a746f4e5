#!/usr/bin/env node
// `npm test`: the whole suite, as two passes run one after the other,
//   1. everything (src/ and test/) on SQLite,
//   2. the HTTP end-to-end suite (test/http) again on PostgreSQL,
// each through scripts/run-tests.mjs. Both always run: a failure in the first does not hide whether
// the second passes. Ends with one summary line per pass and a total line, `N passed, N failed`,
// and exits 1 if either pass failed (or ended without a summary), else 0.
// Usage: node scripts/test.mjs [dir-or-file ...]   (given paths, both passes run just those)
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';

const RUN_TESTS = fileURLToPath(new URL('./run-tests.mjs', import.meta.url));
const paths = process.argv.slice(2);
const PASSES = [
  { name: `SQLite pass (${paths.length ? paths.join(' ') : 'src, test'})`, args: paths },
  { name: `PostgreSQL pass (${paths.length ? paths.join(' ') : 'test/http'})`, args: ['--database=postgres', ...(paths.length ? paths : ['test/http'])] },
];

/** Runs one pass with its output passed through; resolves with its exit code and the counts of its summary. */
function runPass(args) {
  // The test runner colours its report only on a terminal; the output goes through a pipe here.
  const env = process.stdout.isTTY && process.env.FORCE_COLOR === undefined ? { ...process.env, FORCE_COLOR: '1' } : process.env;
  const child = spawn(process.execPath, [RUN_TESTS, ...args], { stdio: ['inherit', 'pipe', 'inherit'], env });
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

const results = [];
for (const pass of PASSES) {
  console.log(`\n# npm test: ${pass.name}`);
  results.push({ pass, ...(await runPass(pass.args)) });
}

let passed = 0;
let failed = 0;
let ok = true;
console.log('\n# npm test: summary');
for (const { pass, code, signal, counts, skipped, error } of results) {
  const exit = signal ? `signal ${signal}` : `exit ${code}`;
  if (skipped !== undefined && code === 0) {
    console.log(`# ${pass.name}: skipped (${skipped})`);
    continue;
  }
  if (counts.pass === undefined || counts.fail === undefined) {
    // Counted as one failure, so that the total line never reads "0 failed" for a failed run.
    ok = false;
    failed += 1;
    console.log(`# ${pass.name}: FAILED, ended without a test summary (${error ? error.message : exit})`);
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
  console.log(`# ${pass.name}: ${verdict}, ${counts.pass} passed, ${passFailed} failed${extra.length ? ` (${extra.join(', ')})` : ''}, ${exit}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(ok ? 0 : 1);
