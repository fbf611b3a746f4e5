/**
 * bench/run.ts — `npm run bench`: the whole performance picture in one run.
 *
 * Servers run in child processes; the load generator (autocannon, keep-alive node:http loops) runs here, so no
 * server shares a process with its load:
 *   - Portcullis: `node bin/portcullis.js serve` (the built dist/, rebuilt first when out of date,
 *     by scripts/build-if-stale.mjs as `npm start` does), at the defaults users run
 *     (LOG_LEVEL=info: a request log line per request, read from a pipe as a container runtime
 *     would), production settings (NODE_ENV=production, a random SECRET_KEY, REGISTRATION=open, a
 *     temp SQLite DATA_DIR), rate limits, login backoff and spraying throttle set high so that the
 *     paths are measured, not the throttles. The port is picked here (bind :0, close) and passed as
 *     PORT; readiness is the first 200 from /healthz. GET /users/me is also measured on a second,
 *     tuned server (LOG_LEVEL=warn: no request log), reported as its own labelled row.
 *   - baseline: a bare node:http server answering GET /users/me with the exact body Portcullis
 *     returned for the benchmark user (same headers that matter: JSON, no-store).
 *
 * Phases (full / --short seconds):
 *   0. hashing capacity: argon2id (@node-rs/argon2) at the configured parameters, hashed N times
 *      here, one at a time; capacity = cores / median hash time;
 *   1. cold start: spawn → first 200 on /healthz, 3 starts on one data folder (the first creates
 *      and migrates the database), median;
 *   2. GET /users/me with a valid token, autocannon over CONNECTIONS connections, baseline,
 *      Portcullis at the defaults and Portcullis tuned (each warmed up first) in alternating rounds;
 *      req/s, p50, p99 (every response's own time) of the median round and its ratio, every round's
 *      ratio, and each server's CPU time per request (utime + stime from /proc, which does not
 *      depend on the load generator);
 *   3. POST /token password logins of one real user with the right password (autocannon);
 *   4. refresh rotations: CHAINS independent chains, each a loop (node:http, keep-alive) that always
 *      presents the refresh token the previous answer returned; sign-ups: CHAINS loops of POST /users
 *      with unique names;
 *   5. peak RSS of the Portcullis process (VmHWM from /proc/<pid>/status, Linux) after all load, and
 *      each phase's own; the /users/me phase's peak against a bare Fastify server's (a child process
 *      answering the same body on GET /users/me, under the same load): the judged ratio. No hash
 *      runs in that phase and argon2's memory is unmapped after each hash, so the hashing memory is
 *      not in it: it is counted separately, as the issue asks, by the formula (HASH_CONCURRENCY ×
 *      argon2 memory) and as measured (the logins phase's peak over the /users/me phase's); the
 *      run's peak against 256 MiB;
 *   6. the event loop's CPU time per login: the main thread's (/proc/<pid>/task/<pid>/stat) over the
 *      logins of phase 3, and at a steady rate below capacity (bench/login-cpu.ts);
 *
 * The last line of output is `RESULT {json}`; the JSON is also written to bench/results/<date>.json
 * (with --short: to a temp folder, whose path is printed).
 *
 * Run:   npm run bench              (~2 min on a 2-core machine)
 *        npm run bench -- --short   (~30 s, a smoke check; numbers are not meaningful)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { hash } from '@node-rs/argon2';
import autocannon from 'autocannon';
import { loadConfig } from '../src/server/config.js';
import { argon2idOptions } from '../src/core/passwords/argon2-options.js';
import { UNTHROTTLED } from '../test/helpers/server.js';
import { freePort, post } from './http-client.js';
import { mainThreadCpu } from './proc-stat.js';

const SHORT = process.argv.includes('--short');
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
const CORES = os.availableParallelism();
/**
 * 10 connections: a Node server is one thread, and on loopback 10 keep-alive connections keep it
 * saturated (more only lengthen queues, i.e. p99, without adding throughput); autocannon itself
 * needs the rest of a 2-core machine.
 */
const CONNECTIONS = 10;
/**
 * Concurrent loops for the write paths: each refresh chain always presents the token the
 * previous answer returned, so a chain has one request in flight; 16 keep one server process busy
 * (and give SQLite's group commit something to group, as many clients would).
 */
const CHAINS = 16;
/** Server processes (WORKERS in SERVER_ENV): "per core" figures divide by them, the cores a server uses. */
const SERVER_PROCESSES = 1;
const PLAN = SHORT
  ? { warmupSeconds: 1, meSeconds: 2, meRounds: 1, loginSeconds: 2, refreshSeconds: 2, signUpSeconds: 2, hashes: 5, coldStarts: 3 }
  : { warmupSeconds: 3, meSeconds: 3, meRounds: 5, loginSeconds: 15, refreshSeconds: 15, signUpSeconds: 10, hashes: 30, coldStarts: 3 };
const USER = 'bench-user';
const PASSWORD = 'bench-password-0123';

/** The defaults users run (LOG_LEVEL=info among them), but for what the benchmark must set. */
const SERVER_ENV: Record<string, string> = {
  NODE_ENV: 'production',
  HOST: '127.0.0.1',
  REGISTRATION: 'open',
  // One process, as the baseline: the figures compare per-process cost (the README's sizing scales it by cores).
  WORKERS: String(SERVER_PROCESSES),
  // The benchmark measures the path, not the throttles.
  ...UNTHROTTLED,
};

const round = (n: number, digits = 2): number => Number(n.toFixed(digits));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

const median = (values: readonly number[]): number =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

/** CPU time (user + system) a process has used, in ms, from /proc (Linux); NaN where it cannot be read. */
function cpuTimeMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}
/** _SC_CLK_TCK: 100 on Linux x86-64. */
const CLOCK_TICKS_PER_SECOND = 100;

/** `portcullis serve` runs dist/: rebuilt first when out of date, by the rule `npm start` uses (scripts/build-if-stale.mjs). */
function ensureBuilt(): string {
  const result = spawnSync(process.execPath, [join(ROOT, 'scripts/build-if-stale.mjs')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`the build failed (scripts/build-if-stale.mjs exit ${result.status})`);
  return result.stdout.trim().replace(/^build: /, '');
}

// ---------------------------------------------------------------- servers
interface Child {
  proc: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

async function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

async function waitFor200(proc: ChildProcess, url: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null)
      throw new Error(`server exited (${proc.exitCode ?? proc.signalCode}) before answering`);
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) throw new Error(`no 200 from ${url} within ${timeoutMs} ms`);
    await sleep(2);
  }
}

/** Starts Portcullis; resolves once /healthz answered 200, with the time that took from spawn. */
async function startPortcullis(
  dataDir: string,
  secretKey: string,
  extraEnv: Record<string, string> = {},
): Promise<Child & { startMs: number }> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...SERVER_ENV,
    ...process.env,
    NODE_ENV: 'production',
    SECRET_KEY: secretKey,
    DATA_DIR: dataDir,
    DATABASE_URL: `sqlite:${join(dataDir, 'portcullis.db')}`,
    PORT: String(port),
    ISSUER: 'http://127.0.0.1',
    ...extraEnv,
  };
  const started = performance.now();
  // stdout is a pipe that is read, as a container runtime or a log shipper reads it (not /dev/null).
  const proc = spawn(process.execPath, [join(ROOT, 'bin/portcullis.js'), 'serve'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  proc.stdout?.resume();
  const url = `http://127.0.0.1:${port}`;
  let stopping = false;
  proc.once('exit', (code, signal) => {
    if (!stopping) console.error(`Portcullis (pid ${proc.pid}) exited unexpectedly: code ${code}, signal ${signal}`);
  });
  try {
    await waitFor200(proc, `${url}/healthz`, 30_000);
  } catch (error) {
    await stopChild(proc);
    throw error;
  }
  return {
    proc,
    url,
    startMs: performance.now() - started,
    stop: () => {
      stopping = true;
      return stopChild(proc);
    },
  };
}

const BASELINE_SOURCE = `
import { createServer } from 'node:http';
const body = Buffer.from(process.env.BASELINE_BODY);
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/users/me') {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length, 'cache-control': 'no-store' });
    res.end(body);
  } else {
    res.writeHead(404);
    res.end();
  }
});
server.listen(0, '127.0.0.1', () => console.log('READY http://127.0.0.1:' + server.address().port));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

/** Bare Fastify answering the same body, for memory: what the framework alone holds under the same load. */
const FASTIFY_BASELINE_SOURCE = `
import Fastify from 'fastify';
const body = process.env.BASELINE_BODY;
const app = Fastify({ logger: false });
app.get('/users/me', (request, reply) => {
  reply.header('cache-control', 'no-store').type('application/json; charset=utf-8').send(body);
});
const address = await app.listen({ port: 0, host: '127.0.0.1' });
console.log('READY ' + address);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
`;

async function startBaseline(body: string, source = BASELINE_SOURCE): Promise<Child> {
  // cwd: the repository, so that the Fastify baseline imports the repository's fastify.
  const proc = spawn(process.execPath, ['--input-type=module', '-e', source], {
    cwd: ROOT,
    env: { ...process.env, BASELINE_BODY: body },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('baseline did not start')), 10_000);
    proc.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /READY (\S+)/.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    proc.once('exit', (code) => reject(new Error(`baseline exited with ${code}`)));
  });
  return { proc, url, stop: () => stopChild(proc) };
}

// ---------------------------------------------------------------- load
interface LoadSummary {
  seconds: number;
  requests: number;
  perSecond: number;
  statuses: Record<string, number>;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  /** The server's CPU time per request in µs (set by measured loads only). */
  cpuUsPerRequest?: number;
}

async function cannon(options: Parameters<typeof autocannon>[0], okStatus: number): Promise<LoadSummary> {
  const times: number[] = [];
  const instance = autocannon({ connections: CONNECTIONS, timeout: 10, ...options });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status === okStatus) times.push(ms);
  });
  const result = await instance;
  times.sort((a, b) => a - b);
  return {
    seconds: result.duration,
    requests: result.requests.total,
    perSecond: round(times.length / result.duration, 1),
    statuses: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count])),
    errors: result.errors + result.timeouts,
    p50Ms: round(percentile(times, 50), 3),
    p99Ms: round(percentile(times, 99), 3),
  };
}

const form = (fields: Record<string, string>): string => new URLSearchParams(fields).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** A login for the set-up of a phase; a 503 from admission control (a loaded machine) is retried after its Retry-After. */
async function login(url: string): Promise<{ access_token: string; refresh_token?: string }> {
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(`${url}/token`, { method: 'POST', headers: FORM, body: form({ username: USER, password: PASSWORD }) });
    if (response.status === 200) return (await response.json()) as { access_token: string; refresh_token?: string };
    const text = await response.text();
    if (response.status !== 503 || attempt === 5) throw new Error(`login failed: ${response.status} ${text}`);
    await sleep(1000 * Number(response.headers.get('retry-after') ?? 1));
  }
}

interface LoopSummary {
  perSecond: number;
  ok: number;
  failed: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  seconds: number;
}

interface BackendResult {
  backend: string;
  refresh: LoopSummary;
  signUp: LoopSummary;
}

/** What bench/login-storm.ts reports (the parts used here). */
interface StormResult {
  idle: { p99Ms: number };
  storm: { p99Ms: number };
  ratio: { p99: number };
  logins: { perSecond: number };
}

/** A fresh PostgreSQL database for the bench, or undefined when none answers. */
async function benchPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> } | undefined> {
  const { postgresSkipReason, createTestDatabase } = await import('../test/helpers/postgres.js');
  if ((await postgresSkipReason().catch(() => 'unreachable')) !== undefined) return undefined;
  return createTestDatabase();
}

/** `loops` concurrent loops, each calling `step` until the time is up; counts successes. */
async function loops(
  count: number,
  seconds: number,
  init: (i: number) => Promise<unknown>,
  step: (state: unknown, i: number) => Promise<{ ok: boolean; state: unknown; status: number }>,
): Promise<LoopSummary> {
  // One after another: CHAINS logins at once would queue CHAINS hashes, which admission control may refuse.
  const states: unknown[] = [];
  for (let i = 0; i < count; i++) states.push(await init(i));
  const times: number[] = [];
  const failed: Record<string, number> = {};
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    states.map(async (initial, i) => {
      let state = initial;
      while (performance.now() < end) {
        const t0 = performance.now();
        const outcome = await step(state, i);
        if (outcome.ok) {
          times.push(performance.now() - t0);
          state = outcome.state;
        } else {
          failed[outcome.status] = (failed[outcome.status] ?? 0) + 1;
          if (outcome.state === undefined) return; // a broken chain cannot go on
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  return {
    seconds: round(elapsed, 2),
    ok: times.length,
    perSecond: round(times.length / elapsed, 1),
    failed,
    p50Ms: round(percentile(times, 50), 3),
    p99Ms: round(percentile(times, 99), 3),
  };
}

function peakRssMiB(pid: number | undefined): number | null {
  const path = `/proc/${pid}/status`;
  if (pid === undefined || !existsSync(path)) return null;
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(path, 'utf8'));
  return match?.[1] ? round(Number(match[1]) / 1024, 1) : null;
}

/**
 * Each phase's own peak RSS: Linux resets a process's VmHWM to its current RSS when "5" is written to
 * /proc/<pid>/clear_refs. `sinceStart` is the peak over the whole run (the reset can fail, e.g. without
 * permission: then every phase reports the peak so far, and says so).
 */
function phasePeaks(pid: number | undefined): {
  mark(phase: string): void;
  readonly phases: Record<string, number | null>;
  resettable: boolean;
} {
  const phases: Record<string, number | null> = {};
  let overall = peakRssMiB(pid);
  const reset = (): boolean => {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
      return true;
    } catch {
      return false;
    }
  };
  const tracker = {
    phases,
    resettable: reset(),
    mark(phase: string): void {
      const peak = peakRssMiB(pid);
      phases[phase] = peak;
      overall = Math.max(overall ?? 0, peak ?? 0);
      phases.sinceStart = overall;
      if (tracker.resettable) reset();
    },
  };
  phases.start = overall;
  return tracker;
}

// ---------------------------------------------------------------- main
/** Refresh rotations (CHAINS chains, each presenting the token the previous answer returned) and sign-ups (CHAINS loops). */

async function writePaths(url: string): Promise<{ refresh: LoopSummary; signUps: LoopSummary }> {
  const refresh = await loops(
    CHAINS,
    PLAN.refreshSeconds,
    async () => {
      const tokens = await login(url);
      if (tokens.refresh_token === undefined) throw new Error('the login returned no refresh_token');
      return tokens.refresh_token;
    },
    async (state) => {
      const response = await post(url, '/token', FORM['content-type'], form({ grant_type: 'refresh_token', refresh_token: String(state) }));
      if (response.status !== 200) return { ok: false, state: undefined, status: response.status };
      const body = JSON.parse(response.text) as { refresh_token?: string };
      return { ok: body.refresh_token !== undefined, state: body.refresh_token, status: 200 };
    },
  );
  const runId = randomBytes(4).toString('hex');
  let signUpCount = 0;
  const signUps = await loops(
    CHAINS,
    PLAN.signUpSeconds,
    async () => null,
    async (_state, i) => {
      const username = `su-${runId}-${i}-${signUpCount++}`;
      const response = await post(url, '/users', 'application/json', JSON.stringify({ username, password: PASSWORD }));
      return { ok: response.status === 201, state: null, status: response.status };
    },
  );
  return { refresh, signUps };
}

/** The other backends' write paths: SQLite with SQLITE_SYNCHRONOUS=normal, and PostgreSQL where one answers. */
async function otherBackends(secretKey: string): Promise<BackendResult[]> {
  const results: BackendResult[] = [];
  const variants: { name: string; env: Record<string, string>; cleanup?: () => Promise<void> }[] = [
    { name: 'sqlite, SQLITE_SYNCHRONOUS=normal', env: { SQLITE_SYNCHRONOUS: 'normal' } },
  ];
  const postgres = await benchPostgresDatabase();
  if (postgres) variants.push({ name: 'postgres (127.0.0.1, same machine)', env: { DATABASE_URL: postgres.url }, cleanup: postgres.drop });
  else console.log('PostgreSQL: not reachable at 127.0.0.1:5432 (TEST_POSTGRES_URL); its write paths are skipped');
  for (const variant of variants) {
    const dataDir = mkdtempSync(join(os.tmpdir(), 'portcullis-bench-'));
    const server = await startPortcullis(dataDir, secretKey, variant.env);
    try {
      const signUp = await fetch(`${server.url}/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: USER, password: PASSWORD }),
      });
      if (signUp.status !== 201) throw new Error(`${variant.name}: sign-up failed: ${signUp.status}`);
      const { refresh, signUps } = await writePaths(server.url);
      console.log(`${variant.name}: ${round(refresh.perSecond, 1)} refresh rotations/s, ${round(signUps.perSecond, 1)} sign-ups/s`);
      results.push({ backend: variant.name, refresh, signUp: signUps });
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
      await variant.cleanup?.();
    }
  }
  return results;
}

/** Another bench script in a process of its own (it starts its own server if it needs one); its RESULT. */
async function scriptResult<T>(script: string): Promise<T | undefined> {
  const args = ['--import', 'tsx', join(ROOT, script), ...(SHORT ? ['--short'] : [])];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const line = output.split('\n').find((candidate) => candidate.startsWith('RESULT '));
  if (code !== 0 || !line) {
    console.error(`${script}: exited ${code}; no result`);
    return undefined;
  }
  return JSON.parse(line.slice('RESULT '.length)) as T;
}

/** What bench/login-cpu.ts reports (the parts used here). */
interface LoginCpuResult {
  offeredPerSecond: number;
  eventLoopCpuMsPerLogin: number;
  eventLoopUserMsPerLogin: number;
  eventLoopSystemMsPerLogin: number;
  /** The idle main thread's CPU (timers, the metrics' event-loop sampler) per second, over the rate. */
  idleMsPerLogin: number;
  processCpuMsPerLogin: number;
}

interface AlgorithmsResult {
  rows: { algorithm: string; signsPerSecond: number; verifiesPerSecond: number }[];
}

interface Target {
  readonly measure: string;
  readonly value: number | null;
  readonly target: string;
  /** null: not measured in this run. */
  readonly met: boolean | null;
}

/** 256 MiB: the smallest container the defaults must fit. */
const CONTAINER_MIB = 256;

/** The issue's targets against this run's figures. */
function targetsOf(m: {
  meRatio: number;
  /** Logins/s over what the cores hash at once with nothing else running (measured in the same run). */
  loginRatioToParallel: number;
  /** The main thread's CPU ms per login at a steady rate below capacity (bench/login-cpu.ts). */
  eventLoopCpuMsPerLogin: number | null;
  stormRatio: number | null;
  coldStartMs: number;
  /** Peak RSS under /users/me load over a bare Fastify server's under the same load (no hashing memory in it). */
  rssToFastify: number | null;
  peakRssMiB: number | null;
  refreshPerServingCore: number;
}): Target[] {
  const judge = (measure: string, value: number | null, target: string, ok: (v: number) => boolean): Target => ({
    measure,
    value: value === null ? null : round(value, 3),
    target,
    met: value === null ? null : ok(value),
  });
  return [
    judge('GET /users/me (defaults) vs bare node:http', m.meRatio, '>= 0.80', (v) => v >= 0.8),
    judge('logins vs the cores hashing at once', m.loginRatioToParallel, '>= 0.85', (v) => v >= 0.85),
    judge('event-loop CPU per login (ms, steady rate)', m.eventLoopCpuMsPerLogin, '<= 1.0', (v) => v <= 1.0),
    judge('GET /users/me p99 in a login storm vs idle', m.stormRatio, '<= 2', (v) => v <= 2),
    judge('cold start (ms)', m.coldStartMs, '<= 300', (v) => v <= 300),
    judge('RSS under /users/me load vs bare Fastify (hashing memory counted separately)', m.rssToFastify, '<= 1.5', (v) => v <= 1.5),
    judge('peak RSS over the run (MiB)', m.peakRssMiB, `<= ${CONTAINER_MIB} MiB`, (v) => v <= CONTAINER_MIB),
    judge('refresh rotations/s per serving core, SQLite', m.refreshPerServingCore, '>= 1200', (v) => v >= 1200),
  ];
}

async function main(): Promise<void> {
  const started = performance.now();
  const build = ensureBuilt();
  const secretKey = randomBytes(32).toString('hex');
  const dataDir = mkdtempSync(join(os.tmpdir(), 'portcullis-bench-'));
  const config = loadConfig({ ...SERVER_ENV, ...process.env, NODE_ENV: 'production', SECRET_KEY: secretKey, DATA_DIR: dataDir });
  const children: Child[] = [];
  try {
    console.log(
      `Portcullis benchmark${SHORT ? ' (--short)' : ''}: ${CORES} cores, ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}; ` +
        `${build}; ${CONNECTIONS} connections, ${CHAINS} write-path loops`,
    );

    // 0. hashing capacity, measured here while nothing else runs
    const argon2 = config.argon2;
    const hashOptions = argon2idOptions(argon2);
    if (!(await hash('warm-up', hashOptions)).startsWith('$argon2id$v=19$m=')) throw new Error('not an argon2id hash');
    const hashTimes: number[] = [];
    for (let i = 0; i < PLAN.hashes; i++) {
      const t0 = performance.now();
      await hash(`password-${i}`, hashOptions);
      hashTimes.push(performance.now() - t0);
    }
    const hashMedianMs = median(hashTimes);
    const hashCapacity = CORES / (hashMedianMs / 1000);
    // What the cores deliver hashing at once (no server, no load generator): they share caches and memory bandwidth.
    const parallelHashes = CORES * PLAN.hashes;
    let hashed = 0;
    const parallelStarted = performance.now();
    await Promise.all(
      Array.from({ length: CORES }, async () => {
        while (hashed < parallelHashes) {
          hashed += 1;
          await hash(`password-${hashed}`, hashOptions);
        }
      }),
    );
    const parallelCapacity = parallelHashes / ((performance.now() - parallelStarted) / 1000);
    console.log(
      `argon2id m=${argon2.memoryKiB} t=${argon2.iterations} p=${argon2.parallelism}: median ${round(hashMedianMs)} ms → capacity ${round(hashCapacity, 1)}/s; ` +
        `${CORES} at once: ${round(parallelCapacity, 1)}/s (${round(parallelCapacity / hashCapacity, 2)} of that)`,
    );

    // 1. cold starts (the first also creates the database)
    const coldMs: number[] = [];
    for (let i = 0; i < PLAN.coldStarts; i++) {
      const server = await startPortcullis(dataDir, secretKey);
      coldMs.push(round(server.startMs, 1));
      await server.stop();
    }
    console.log(`cold start (spawn → first 200 on /healthz): ${coldMs.join(', ')} ms`);

    const portcullis = await startPortcullis(dataDir, secretKey);
    children.push(portcullis);
    const url = portcullis.url;
    const rss = phasePeaks(portcullis.proc.pid);
    const signUp = await fetch(`${url}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: USER, password: PASSWORD }),
    });
    if (signUp.status !== 201) throw new Error(`sign-up failed: ${signUp.status} ${await signUp.text()}`);
    const { access_token: token } = await login(url);
    const me = await fetch(`${url}/users/me`, { headers: { authorization: `Bearer ${token}` } });
    const meBody = await me.text();
    if (me.status !== 200) throw new Error(`GET /users/me: ${me.status} ${meBody}`);
    const baseline = await startBaseline(meBody);
    children.push(baseline);
    const check = await fetch(`${baseline.url}/users/me`);
    if ((await check.text()) !== meBody) throw new Error('the baseline does not answer the same body');
    // The set-up's sign-up and login hash (as does the warm-up after start): their own phase.
    rss.mark('setUp');

    // 2. GET /users/me, at the defaults and tuned (a second server on the same database: the same token works)
    const tuned = await startPortcullis(dataDir, secretKey, { LOG_LEVEL: 'warn' });
    children.push(tuned);
    const meLoad = async (target: Child, seconds: number): Promise<LoadSummary> => {
      const cpuBefore = cpuTimeMs(target.proc.pid);
      const load = await cannon({ url: `${target.url}/users/me`, duration: seconds, headers: { authorization: `Bearer ${token}` } }, 200);
      return { ...load, cpuUsPerRequest: round(((cpuTimeMs(target.proc.pid) - cpuBefore) * 1000) / Math.max(1, load.requests), 1) };
    };
    for (const target of [baseline, portcullis, tuned]) await meLoad(target, PLAN.warmupSeconds);
    // Rounds, each the baseline then each Portcullis: a shared machine's speed drifts over seconds, so
    // each round's ratio compares neighbours in time; the ratio reported is the median of the rounds.
    const meRounds: Array<{ baseline: LoadSummary; portcullis: LoadSummary; tuned: LoadSummary; ratio: number; tunedRatio: number }> = [];
    for (let r = 0; r < PLAN.meRounds; r++) {
      const b = await meLoad(baseline, PLAN.meSeconds);
      const p = await meLoad(portcullis, PLAN.meSeconds);
      const t = await meLoad(tuned, PLAN.meSeconds);
      meRounds.push({
        baseline: b,
        portcullis: p,
        tuned: t,
        ratio: round(p.perSecond / b.perSecond, 3),
        tunedRatio: round(t.perSecond / b.perSecond, 3),
      });
    }
    const middle = [...meRounds].sort((a, b) => a.ratio - b.ratio)[Math.floor(meRounds.length / 2)]!;
    const meBaseline = middle.baseline;
    const mePortcullis = middle.portcullis;
    const meRatio = middle.ratio;
    const middleTuned = [...meRounds].sort((a, b) => a.tunedRatio - b.tunedRatio)[Math.floor(meRounds.length / 2)]!;
    const meTuned = middleTuned.tuned;
    const meTunedRatio = middleTuned.tunedRatio;
    await tuned.stop();
    // Memory under the same load: Portcullis's peak during this phase against bare Fastify's.
    const fastify = await startBaseline(meBody, FASTIFY_BASELINE_SOURCE);
    children.push(fastify);
    if ((await (await fetch(`${fastify.url}/users/me`)).text()) !== meBody)
      throw new Error('the Fastify baseline does not answer the same body');
    await meLoad(fastify, PLAN.meSeconds);
    const fastifyRssMiB = peakRssMiB(fastify.proc.pid);
    await fastify.stop();
    children.splice(children.indexOf(fastify), 1);
    console.log(
      `GET /users/me ratio per round (baseline, then Portcullis at the defaults, then tuned, ${PLAN.meSeconds} s each): ` +
        `defaults ${meRounds.map((m) => m.ratio).join(', ')}; tuned ${meRounds.map((m) => m.tunedRatio).join(', ')}`,
    );
    rss.mark('usersMe');

    // 3. logins, and the main thread's CPU time over them
    const loginCpuBefore = mainThreadCpu(portcullis.proc.pid);
    const logins = await cannon(
      {
        url: `${url}/token`,
        method: 'POST',
        duration: PLAN.loginSeconds,
        headers: FORM,
        body: form({ username: USER, password: PASSWORD }),
      },
      200,
    );
    const loginCpuAfter = mainThreadCpu(portcullis.proc.pid);
    const loginMainThreadMs = loginCpuAfter.userMs + loginCpuAfter.systemMs - loginCpuBefore.userMs - loginCpuBefore.systemMs;
    const saturatedCpuMsPerLogin = round(loginMainThreadMs / Math.max(1, logins.requests), 3);
    const loginRatio = round(logins.perSecond / hashCapacity, 3);
    const loginRatioToParallel = round(logins.perSecond / parallelCapacity, 3);
    rss.mark('logins');

    // 4. write paths: refresh rotations (chains) and sign-ups, on the default backend
    const { refresh, signUps } = await writePaths(url);
    rss.mark('writePaths');
    // 5. peak RSS: over the whole run, and each phase's own
    const peakRss = rss.phases.sinceStart ?? peakRssMiB(portcullis.proc.pid);
    const rssByPhase = rss.resettable
      ? `start ${rss.phases.start}, set-up (warm-up, one sign-up, one login) ${rss.phases.setUp}, /users/me ${rss.phases.usersMe}, logins ${rss.phases.logins}, write paths ${rss.phases.writePaths} MiB`
      : 'per phase: not available (/proc/<pid>/clear_refs could not be written)';
    console.log(`peak RSS: ${peakRss} MiB over the run; each phase's own peak: ${rssByPhase}`);
    // The hashing memory, counted separately: no hash runs under /users/me load, and argon2's memory is
    // unmapped after each hash (the same /users/me RSS at 19 and at 64 MiB per hash, PERFORMANCE.md),
    // so the /users/me phase holds none of it and nothing is subtracted from it. It shows in the
    // logins phase: its peak over the /users/me phase's is the measured figure, beside the formula.
    const hashingMiB = round((config.hashConcurrency * argon2.memoryKiB) / 1024, 1);
    const meRssMiB = rss.phases.usersMe ?? null;
    const loginsRssMiB = rss.phases.logins ?? null;
    const hashingMeasuredMiB = rss.resettable && meRssMiB !== null && loginsRssMiB !== null ? round(loginsRssMiB - meRssMiB, 1) : null;
    const rssToFastify = meRssMiB !== null && fastifyRssMiB !== null ? round(meRssMiB / fastifyRssMiB, 3) : null;
    console.log(
      `RSS under /users/me load (no hash in flight; hashing memory counted separately): Portcullis ${meRssMiB} MiB, bare Fastify ${fastifyRssMiB} MiB: ${rssToFastify}; ` +
        `hashing memory: HASH_CONCURRENCY ${config.hashConcurrency} × argon2 ${argon2.memoryKiB} KiB = ${hashingMiB} MiB, ` +
        `measured ${hashingMeasuredMiB} MiB (the logins phase's peak over the /users/me phase's)`,
    );
    // The next phases start servers of their own: nothing else may run beside them.
    await baseline.stop();
    await portcullis.stop();
    children.length = 0;

    // 6. the write paths on the other backends
    const backends = await otherBackends(secretKey);

    // 7. GET /users/me latency idle and during a login storm
    const storm = await scriptResult<StormResult>('bench/login-storm.ts');

    // 8. tokens signed and verified per second on one core, per algorithm
    const algorithms = await scriptResult<AlgorithmsResult>('bench/algorithms.ts');

    // 9. the event loop's CPU time per login at a steady rate below capacity
    const loginCpu = await scriptResult<LoginCpuResult>('bench/login-cpu.ts');

    const result = {
      date: new Date().toISOString(),
      short: SHORT,
      node: process.version,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: CORES,
      plan: { ...PLAN, connections: CONNECTIONS, chains: CHAINS },
      settings: {
        database: 'sqlite',
        logLevel: config.logLevel,
        algorithm: config.algorithm,
        argon2,
        hashConcurrency: config.hashConcurrency,
      },
      hash: {
        medianMs: round(hashMedianMs, 2),
        minMs: round(Math.min(...hashTimes), 2),
        maxMs: round(Math.max(...hashTimes), 2),
        capacityPerSecond: round(hashCapacity, 1),
        parallelPerSecond: round(parallelCapacity, 1),
      },
      coldStart: { runsMs: coldMs, medianMs: median(coldMs) },
      me: {
        baseline: meBaseline,
        portcullis: mePortcullis,
        ratio: meRatio,
        roundRatios: meRounds.map((m) => m.ratio),
        tuned: {
          settings: { LOG_LEVEL: 'warn' },
          portcullis: meTuned,
          ratio: meTunedRatio,
          roundRatios: meRounds.map((m) => m.tunedRatio),
        },
      },
      login: {
        ...logins,
        ratioToHashCapacity: loginRatio,
        ratioToParallelHashing: loginRatioToParallel,
        eventLoopCpuMsPerLogin: loginCpu?.eventLoopCpuMsPerLogin ?? null,
        steadyRatePerSecond: loginCpu?.offeredPerSecond ?? null,
        steadyRateUserMsPerLogin: loginCpu?.eventLoopUserMsPerLogin ?? null,
        steadyRateSystemMsPerLogin: loginCpu?.eventLoopSystemMsPerLogin ?? null,
        steadyRateIdleMsPerLogin: loginCpu?.idleMsPerLogin ?? null,
        eventLoopCpuMsPerLoginSaturated: saturatedCpuMsPerLogin,
      },
      refresh,
      signUp: signUps,
      backends,
      storm: storm
        ? { idleP99Ms: storm.idle.p99Ms, stormP99Ms: storm.storm.p99Ms, ratio: storm.ratio.p99, loginsPerSecond: storm.logins.perSecond }
        : null,
      algorithms: algorithms?.rows ?? null,
      peakRssMiB: peakRss,
      memory: {
        usersMeMiB: meRssMiB,
        fastifyMiB: fastifyRssMiB,
        /** The judged ratio: the /users/me phase holds no hashing memory (counted separately below). */
        ratio: rssToFastify,
        hashingMiB,
        hashingMeasuredMiB,
        containerMiB: CONTAINER_MIB,
      },
      peakRssByPhaseMiB: rss.resettable ? rss.phases : null,
      targets: targetsOf({
        meRatio,
        loginRatioToParallel,
        eventLoopCpuMsPerLogin: loginCpu?.eventLoopCpuMsPerLogin ?? null,
        stormRatio: storm?.ratio.p99 ?? null,
        coldStartMs: median(coldMs),
        rssToFastify,
        peakRssMiB: peakRss,
        refreshPerServingCore: refresh.perSecond / SERVER_PROCESSES,
      }),
      build,
      seconds: 0,
      file: '',
    };
    result.seconds = round((performance.now() - started) / 1000, 1);
    const dir = SHORT ? mkdtempSync(join(os.tmpdir(), 'portcullis-bench-result-')) : RESULTS_DIR;
    mkdirSync(dir, { recursive: true });
    result.file = join(dir, `${result.date.slice(0, 10)}.json`);
    writeFileSync(result.file, `${JSON.stringify(result, null, 2)}\n`);

    const n = (value: number | null, digits = 0): string => (value === null || !Number.isFinite(value) ? '-' : value.toFixed(digits));
    const rows: string[][] = [
      ['measure', 'per second', 'p50 ms', 'p99 ms', 'ratio', 'notes'],
      [
        'GET /users/me baseline',
        n(meBaseline.perSecond),
        n(meBaseline.p50Ms, 2),
        n(meBaseline.p99Ms, 2),
        '1',
        `bare node:http, ${n(meBaseline.cpuUsPerRequest ?? null, 1)} µs CPU/request, ${JSON.stringify(meBaseline.statuses)}`,
      ],
      [
        'GET /users/me Portcullis (defaults)',
        n(mePortcullis.perSecond),
        n(mePortcullis.p50Ms, 2),
        n(mePortcullis.p99Ms, 2),
        n(meRatio, 3),
        `LOG_LEVEL=info; ${n(mePortcullis.cpuUsPerRequest ?? null, 1)} µs CPU/request; vs baseline (median round of ${meRounds.length}), ${JSON.stringify(mePortcullis.statuses)}`,
      ],
      [
        'GET /users/me Portcullis (tuned)',
        n(meTuned.perSecond),
        n(meTuned.p50Ms, 2),
        n(meTuned.p99Ms, 2),
        n(meTunedRatio, 3),
        `LOG_LEVEL=warn; ${n(meTuned.cpuUsPerRequest ?? null, 1)} µs CPU/request; vs baseline (median round of ${meRounds.length})`,
      ],
      [
        'POST /token logins',
        n(logins.perSecond, 1),
        n(logins.p50Ms, 1),
        n(logins.p99Ms, 1),
        n(loginRatio, 3),
        `vs hash capacity ${n(hashCapacity, 1)}/s; ${n(loginRatioToParallel, 3)} of ${CORES} hashing at once (${n(parallelCapacity, 1)}/s), ${JSON.stringify(logins.statuses)}`,
      ],
      [
        'event-loop CPU per login',
        '',
        '',
        '',
        '',
        `${n(loginCpu?.eventLoopCpuMsPerLogin ?? null, 2)} ms at ${n(loginCpu?.offeredPerSecond ?? null, 0)}/s (bench/login-cpu.ts: ` +
          `${n(loginCpu?.eventLoopUserMsPerLogin ?? null, 2)} user + ${n(loginCpu?.eventLoopSystemMsPerLogin ?? null, 2)} system, ` +
          `of which ${n(loginCpu?.idleMsPerLogin ?? null, 2)} the idle server's own per login); ${n(saturatedCpuMsPerLogin, 2)} ms at saturation (phase 3)`,
      ],
      [
        'refresh rotations',
        n(refresh.perSecond, 1),
        n(refresh.p50Ms, 1),
        n(refresh.p99Ms, 1),
        '',
        `${CHAINS} chains, ${n(refresh.perSecond / SERVER_PROCESSES, 0)}/s per serving core, failed ${JSON.stringify(refresh.failed)}`,
      ],
      [
        'sign-ups',
        n(signUps.perSecond, 1),
        n(signUps.p50Ms, 1),
        n(signUps.p99Ms, 1),
        '',
        `${CHAINS} loops, failed ${JSON.stringify(signUps.failed)}`,
      ],
      ...backends.flatMap((b) => [
        [
          `refresh rotations, ${b.backend}`,
          n(b.refresh.perSecond, 1),
          n(b.refresh.p50Ms, 1),
          n(b.refresh.p99Ms, 1),
          '',
          `${n(b.refresh.perSecond / SERVER_PROCESSES, 0)}/s per serving core, failed ${JSON.stringify(b.refresh.failed)}`,
        ],
        [
          `sign-ups, ${b.backend}`,
          n(b.signUp.perSecond, 1),
          n(b.signUp.p50Ms, 1),
          n(b.signUp.p99Ms, 1),
          '',
          `failed ${JSON.stringify(b.signUp.failed)}`,
        ],
      ]),
      storm
        ? [
            'GET /users/me p99 in a login storm',
            '',
            '',
            n(storm.storm.p99Ms, 2),
            n(storm.ratio.p99, 2),
            `vs idle p99 ${n(storm.idle.p99Ms, 2)} ms at the same rate (bench/login-storm.ts, its server at LOG_LEVEL=warn)`,
          ]
        : ['GET /users/me p99 in a login storm', '', '', '', '', 'the storm phase failed (see above)'],
      ...(algorithms?.rows ?? []).map((row) => [
        `${row.algorithm} verify (one core)`,
        n(row.verifiesPerSecond),
        '',
        '',
        '',
        `signs ${n(row.signsPerSecond)}/s (bench/algorithms.ts)`,
      ]),
      [
        'argon2id hash',
        n(hashCapacity, 1),
        n(hashMedianMs, 1),
        '',
        '',
        `one hash, median of ${PLAN.hashes}; capacity = ${CORES} cores / median`,
      ],
      ['cold start', '', n(median(coldMs), 0), '', '', `spawn → first 200 /healthz: ${coldMs.join(', ')} ms`],
      ['peak RSS', '', '', '', '', `${n(peakRss, 1)} MiB (VmHWM after all phases; target <= ${CONTAINER_MIB} MiB); ${rssByPhase}`],
      [
        'RSS under /users/me',
        '',
        '',
        '',
        n(rssToFastify, 3),
        `Portcullis ${n(meRssMiB, 1)} MiB vs bare Fastify ${n(fastifyRssMiB, 1)} MiB, no hash in flight; hashing memory counted separately: ${config.hashConcurrency} × ${argon2.memoryKiB} KiB = ${n(hashingMiB, 1)} MiB, measured ${n(hashingMeasuredMiB, 1)} MiB (logins phase over /users/me phase)`,
      ],
    ];
    const widths = rows[0]?.map((_, col) => Math.max(...rows.map((row) => (row[col] ?? '').length))) ?? [];
    console.log('');
    for (const row of rows) {
      console.log(
        row
          .map((cell, col) => (col === 0 || col === row.length - 1 ? cell.padEnd(widths[col] ?? 0) : cell.padStart(widths[col] ?? 0)))
          .join('  ')
          .trimEnd(),
      );
    }
    console.log('\nTargets (issues 8 and 13, docs/PERFORMANCE.md):');
    for (const target of result.targets) {
      console.log(
        `  ${target.met === null ? '?  ' : target.met ? 'met' : 'NOT'}  ${target.measure}: ${target.value ?? '-'} (target ${target.target})`,
      );
    }
    console.log(`\n${result.seconds} s in all; written to ${result.file}`);
    console.log(`RESULT ${JSON.stringify(result)}`);
  } finally {
    for (const child of children.reverse()) await child.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
