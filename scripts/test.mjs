#!/usr/bin/env node
// `npm test`: the whole suite, as two passes run one after the other,
//   1. everything (src/ and test/) on SQLite,
//   2. the HTTP end-to-end suite (test/http) again on PostgreSQL,
// each through scripts/run-tests.mjs. Both always run: a failure in the first does not hide whether
// the second passes. Ends with one summary line per pass and a total line, `N passed, N failed`,
// and exits 1 if either pass failed (or ended without a summary), else 0.
// Usage: node scripts/test.mjs [dir-or-file ...]   (given paths, both passes run just those)
import { fileURLToPath } from 'node:url';
import { reportPasses, runPass } from './test-passes.mjs';

const RUN_TESTS = fileURLToPath(new URL('./run-tests.mjs', import.meta.url));
const paths = process.argv.slice(2);
const PASSES = [
  { name: `SQLite pass (${paths.length ? paths.join(' ') : 'src, test'})`, args: paths },
  {
    name: `PostgreSQL pass (${paths.length ? paths.join(' ') : 'test/http'})`,
    args: ['--database=postgres', ...(paths.length ? paths : ['test/http'])],
  },
];

const results = [];
for (const pass of PASSES) {
  console.log(`\n# npm test: ${pass.name}`);
  results.push({ name: pass.name, ...(await runPass({ runTests: RUN_TESTS, args: pass.args })) });
}
process.exit(reportPasses('npm test', results) ? 0 : 1);
