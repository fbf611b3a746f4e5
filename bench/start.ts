/**
 * bench/start.ts — `npm run bench:start`: how long `portcullis serve` takes to answer, per runtime
 * and per build, and how much CPU the start costs.
 *
 *   npm run bench:start -- [--runtime=22.23.5 ...] [--starts=6] [--workers=1|auto] [checkout ...]
 *
 * A runtime is `machine` (the Node running this script, with the checkout's own node_modules) or a
 * version from scripts/runtimes.json, used as `npm run test:runtimes` installed it: its node from
 * <cache>/node/<version> and its node_modules from <cache>/node_modules/<version>-* (run
 * `npm run test:runtimes -- --runtime=<version>` once first). For those, the checkout's bin/, dist/
 * and package.json are copied into a temporary folder beside that node_modules (dist/ is plain
 * JavaScript; only native addons depend on the runtime). Default: machine and every cached runtime.
 * A checkout is a folder with dist/ built (`npm run build`); default this one.
 *
 * Each (checkout, runtime) pair has its own data folder and its own empty compile cache
 * (NODE_COMPILE_CACHE, used by bin/portcullis.js on Node 22.1+): its first start creates the database
 * and fills the cache, as a user's first `npm start` does; the later ones find both. The pairs take
 * turns start by start, so that a change in the machine's load falls on all of them alike.
 *
 * A start runs `node bin/portcullis.js serve` as `npm run bench` does (NODE_ENV=production,
 * WORKERS=1, or with `--workers=auto` WORKERS unset, as `npm start` runs: one worker per core; SQLite, LOG_LEVEL=info with stdout a pipe that is read) and ends at the first 200 from
 * /healthz (asked every 5 ms). Per start: wall time from spawn, and the CPU time the server's main
 * thread, and the whole process with its workers, had used by then (utime + stime from /proc, Linux, 10 ms ticks; the CPU
 * figures depend less on other work on the machine than wall time). Prints the first start and the
 * median of the later ones per pair; `--json` adds one JSON line with every start.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { UNTHROTTLED } from '../test/helpers/unthrottled.js';
import { freePort } from './http-client.js';
import { mainThreadCpu, processCpuMs } from './proc-stat.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CACHE = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'portcullis');
const { runtimes: KNOWN_RUNTIMES } = JSON.parse(readFileSync(join(ROOT, 'scripts/runtimes.json'), 'utf8')) as {
  runtimes: { version: string }[];
};

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    runtime: { type: 'string', multiple: true },
    starts: { type: 'string', default: '6' },
    workers: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
  },
});
const STARTS = Number(values.starts);
if (!Number.isInteger(STARTS) || STARTS < 2) throw new Error('--starts must be an integer of at least 2 (the first, and later ones)');

interface Runtime {
  readonly name: string;
  readonly node: string;
  /** The node_modules built for this runtime; undefined: the checkout's own. */
  readonly nodeModules: string | undefined;
}

/** A runtime that `npm run test:runtimes` prepared: its node and its most recently used node_modules. */
function cachedRuntime(version: string): Runtime | undefined {
  const node = join(CACHE, 'node', version, 'bin/node');
  const parent = join(CACHE, 'node_modules');
  if (!existsSync(node) || !existsSync(parent)) return undefined;
  const prepared = readdirSync(parent)
    .filter((entry) => entry.startsWith(`${version}-`) && existsSync(join(parent, entry, '.complete')))
    .map((entry) => join(parent, entry))
    .sort((a, b) => statSync(join(b, '.complete')).mtimeMs - statSync(join(a, '.complete')).mtimeMs);
  return prepared[0] === undefined ? undefined : { name: `Node ${version}`, node, nodeModules: join(prepared[0], 'node_modules') };
}

function runtimes(): Runtime[] {
  const machine: Runtime = { name: `Node ${process.versions.node} (machine)`, node: process.execPath, nodeModules: undefined };
  const asked = values.runtime ?? ['machine', ...KNOWN_RUNTIMES.map((runtime) => runtime.version)];
  const found: Runtime[] = [];
  for (const name of asked) {
    if (name === 'machine') {
      found.push(machine);
      continue;
    }
    const runtime = cachedRuntime(name);
    if (runtime !== undefined) found.push(runtime);
    else if (values.runtime !== undefined)
      throw new Error(`Node ${name} is not prepared: run npm run test:runtimes -- --runtime=${name} once first`);
    else console.log(`# Node ${name}: not prepared (npm run test:runtimes -- --runtime=${name}), left out`);
  }
  return found;
}

interface Pair {
  readonly label: string;
  readonly runtime: Runtime;
  /** Where bin/portcullis.js is run from. */
  readonly dir: string;
  readonly dataDir: string;
  readonly compileCache: string;
  readonly starts: Start[];
}

interface Start {
  readonly wallMs: number;
  readonly mainThreadCpuMs: number;
  /** The process's and its children's (a cluster's workers), all threads. */
  readonly processCpuMs: number;
}

/** The process and its descendants (Linux: /proc/<pid>/task/<tid>/children). */
function processTree(pid: number): number[] {
  const children = readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
    try {
      return readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
  return [pid, ...children.flatMap(processTree)];
}

const work = mkdtempSync(join(tmpdir(), 'portcullis-bench-start-'));

function pairFor(checkout: string, runtime: Runtime, index: number): Pair {
  if (!existsSync(join(checkout, 'dist/cli/main.js'))) throw new Error(`${checkout} has no dist/cli/main.js: run npm run build there`);
  let dir = checkout;
  if (runtime.nodeModules !== undefined) {
    dir = join(work, `tree-${index}`);
    for (const part of ['bin', 'dist', 'package.json']) cpSync(join(checkout, part), join(dir, part), { recursive: true });
    symlinkSync(runtime.nodeModules, join(dir, 'node_modules'), 'dir');
  }
  return {
    label: `${runtime.name}, ${checkout}`,
    runtime,
    dir,
    dataDir: mkdtempSync(join(work, `data-${index}-`)),
    compileCache: mkdtempSync(join(work, `compile-cache-${index}-`)),
    starts: [],
  };
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

async function startOnce(pair: Pair, secretKey: string): Promise<Start> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...UNTHROTTLED,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    WORKERS: values.workers,
    SECRET_KEY: secretKey,
    ISSUER: 'http://127.0.0.1',
    DATA_DIR: pair.dataDir,
    NODE_COMPILE_CACHE: pair.compileCache,
  };
  delete env.LOG_LEVEL;
  if (values.workers === 'auto') delete env.WORKERS;
  const started = performance.now();
  const proc = spawn(pair.runtime.node, [join(pair.dir, 'bin/portcullis.js'), 'serve'], {
    cwd: pair.dir,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  proc.stdout.resume();
  const exited = new Promise<void>((done) => proc.once('exit', () => done()));
  try {
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null)
        throw new Error(`${pair.label}: the server exited (${proc.exitCode ?? proc.signalCode})`);
      try {
        const response = await fetch(`http://127.0.0.1:${port}/healthz`);
        await response.arrayBuffer();
        if (response.status === 200) break;
      } catch {
        // not listening yet
      }
      if (performance.now() - started > 60_000) throw new Error(`${pair.label}: no 200 from /healthz within 60 s`);
      await sleep(5);
    }
    const wallMs = performance.now() - started;
    const { userMs, systemMs } = mainThreadCpu(proc.pid);
    const treeCpuMs = processTree(proc.pid!).reduce((sum, pid) => sum + processCpuMs(pid), 0);
    return { wallMs, mainThreadCpuMs: userMs + systemMs, processCpuMs: treeCpuMs };
  } finally {
    proc.kill('SIGTERM');
    await exited;
  }
}

const median = (numbers: readonly number[]): number => {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const ms = (n: number): string => `${Math.round(n)}`;

async function main(): Promise<void> {
  const checkouts = positionals.length > 0 ? positionals.map((path) => resolve(path)) : [ROOT];
  const pairs = checkouts.flatMap((checkout, c) => runtimes().map((runtime, r) => pairFor(checkout, runtime, c * 100 + r)));
  const secretKey = randomBytes(32).toString('base64url');
  console.log(`# ${STARTS} starts per pair, pairs in turn, WORKERS=${values.workers}; spawn → first 200 on /healthz`);
  for (let i = 0; i < STARTS; i++) {
    for (const pair of pairs) {
      const start = await startOnce(pair, secretKey);
      pair.starts.push(start);
      console.log(
        `${pair.label}: start ${i + 1}: ${ms(start.wallMs)} ms, CPU main thread ${ms(start.mainThreadCpuMs)} ms, all ${ms(start.processCpuMs)} ms`,
      );
    }
  }
  console.log(
    '\n| runtime, checkout | first start: wall / main-thread CPU / all CPU ms | later starts (median): wall / main-thread CPU / all CPU ms | later walls |',
  );
  console.log('|---|---|---|---|');
  for (const pair of pairs) {
    const [first, ...later] = pair.starts;
    console.log(
      `| ${pair.label} | ${ms(first!.wallMs)} / ${ms(first!.mainThreadCpuMs)} / ${ms(first!.processCpuMs)} | ${ms(
        median(later.map((s) => s.wallMs)),
      )} / ${ms(median(later.map((s) => s.mainThreadCpuMs)))} / ${ms(median(later.map((s) => s.processCpuMs)))} | ${later
        .map((s) => ms(s.wallMs))
        .join(', ')} |`,
    );
  }
  if (values.json) console.log(`RESULT ${JSON.stringify(pairs.map(({ label, starts }) => ({ label, starts })))}`);
}

try {
  await main();
} finally {
  rmSync(work, { recursive: true, force: true });
}
