#!/usr/bin/env node
// `npm start`'s prestart (and `npm run bench`): runs `npm run build` (tsc) only when dist/ is out of
// date, so that a start with nothing changed does not rebuild. Out of date: dist/.tsbuildinfo is
// missing, or a file under src/ (tests excepted), package.json or a tsconfig is newer than it.
// Prints one line saying which, and exits with the build's status.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BUILD_INFO = join(ROOT, 'dist/.tsbuildinfo');

/** The inputs of the build newer than `builtMs`, relative to the package root. */
function newerInputs(builtMs) {
  const newer = [];
  const visit = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (!entry.name.endsWith('.test.ts') && statSync(path).mtimeMs > builtMs) newer.push(relative(ROOT, path));
    }
  };
  visit(join(ROOT, 'src'));
  for (const file of ['package.json', 'tsconfig.json', 'tsconfig.build.json']) {
    if (statSync(join(ROOT, file)).mtimeMs > builtMs) newer.push(file);
  }
  return newer;
}

const started = performance.now();
const built = existsSync(BUILD_INFO) && existsSync(join(ROOT, 'dist/cli/main.js'));
const newer = built ? newerInputs(statSync(BUILD_INFO).mtimeMs) : [];
if (built && newer.length === 0) {
  console.log('build: dist/ is up to date with src/');
  process.exit(0);
}
const result = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
if (result.status !== 0) {
  console.error(`build: npm run build failed (exit ${result.status ?? result.signal})`);
  process.exit(result.status || 1);
}
// tsc leaves its build info alone when no output changed: mark this build as done all the same.
const now = new Date();
utimesSync(BUILD_INFO, now, now);
const reason = built
  ? `${newer.length} changed file${newer.length === 1 ? '' : 's'}: ${newer.slice(0, 3).join(', ')}${newer.length > 3 ? ', …' : ''}`
  : 'no build yet';
console.log(`build: rebuilt dist/ (${reason}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
