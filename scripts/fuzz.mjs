#!/usr/bin/env node
// The long fuzz run: test/fuzz/fuzz.test.ts with many runs per property.
// Usage: npm run fuzz            (FUZZ_RUNS=20000 per property, at most FUZZ_SECONDS=120 each,
//                                 for every FUZZ_ALGORITHMS=HS256,EdDSA)
//        FUZZ_RUNS=100000 FUZZ_SECONDS=600 npm run fuzz
//        FUZZ_SEED=-12185227 npm run fuzz      (replay the seed a failure reported)
import { spawnSync } from 'node:child_process';

const env = {
  ...process.env,
  FUZZ_RUNS: process.env.FUZZ_RUNS ?? '20000',
  FUZZ_SECONDS: process.env.FUZZ_SECONDS ?? '120',
  FUZZ_ALGORITHMS: process.env.FUZZ_ALGORITHMS ?? 'HS256,EdDSA',
};
console.log(`fuzz: ${env.FUZZ_RUNS} runs per property, at most ${env.FUZZ_SECONDS} s each, ALGORITHM ${env.FUZZ_ALGORITHMS}`);
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-timeout=0', '--test-reporter=spec', 'test/fuzz/fuzz.test.ts'],
  { stdio: 'inherit', env },
);
process.exit(result.status ?? 1);
