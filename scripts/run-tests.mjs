#!/usr/bin/env node
// Runs the test suite with Node's own test runner (TypeScript through tsx).
// Usage: node scripts/run-tests.mjs [--database=postgres] [dir-or-file ...]   (default: src test)
// Node 20's --test takes no globs, so the files are listed here.
// --database=postgres runs the given tests with TEST_DATABASE=postgres: every
// test server gets its own PostgreSQL database (test/helpers/postgres.ts).
// When PostgreSQL does not answer, that pass is skipped with the reason,
// except under CI=true, where it fails.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

function collect(path, out) {
  if (statSync(path).isDirectory()) {
    for (const entry of readdirSync(path).sort()) {
      if (entry === 'node_modules' || entry.startsWith('.')) continue;
      collect(join(path, entry), out);
    }
  } else if (/\.test\.ts$/.test(path)) {
    out.push(path);
  }
  return out;
}

const roots = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const database =
  process.argv
    .slice(2)
    .find((arg) => arg.startsWith('--database='))
    ?.slice('--database='.length) ?? 'sqlite';
const passThrough = process.argv.slice(2).filter((arg) => arg.startsWith('--') && !arg.startsWith('--database='));
if (database !== 'sqlite' && database !== 'postgres') {
  console.error(`unknown --database=${database} (sqlite or postgres)`);
  process.exit(1);
}
if (database === 'postgres') {
  const url = process.env.TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.end();
  } catch (error) {
    const why = `PostgreSQL at ${url} is not reachable (${error instanceof Error ? error.message : String(error)})`;
    if (process.env.CI === 'true') {
      console.error(`${why}, and CI=true requires the PostgreSQL pass`);
      process.exit(1);
    }
    console.log(`# skipped: the PostgreSQL pass of the end-to-end suite: ${why}; start it or set TEST_POSTGRES_URL`);
    process.exit(0);
  }
  console.log(`# the end-to-end suite against PostgreSQL (${url}, a fresh database per test server)`);
}
const files = (roots.length ? roots : ['src', 'test']).flatMap((root) => collect(root, []));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${Math.max(2, availableParallelism())}`,
    // A guard against a hung file, not a speed check: the slowest files (the bench smoke, the npm pack
    // test, the CLI suites) took 60-180 s on a loaded 2-core machine, so a file gets 4 minutes.
    '--test-timeout=240000',
    '--test-reporter=spec',
    ...passThrough,
    ...files,
  ],
  { stdio: 'inherit', env: { ...process.env, TEST_DATABASE: database } },
);
process.exit(result.status ?? 1);
