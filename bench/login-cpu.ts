/**
 * bench/login-cpu.ts — `npm run bench:login-cpu`: the event loop's CPU time per login.
 *
 * A login's hash runs on the hashing threads; everything else (HTTP, the form, the user's lookup,
 * the session's transaction and its commit, the audit event, signing the token, the request log)
 * runs on the server's main thread, which serves every other request too. This script starts the
 * built server (`node bin/portcullis.js serve`, run `npm run build` first) in a child process at the
 * defaults users run (LOG_LEVEL=info, stdout a pipe that is read; a temp SQLite file), with the
 * rate limits and login backoff set high, signs up one user and then logs in at a steady rate below
 * capacity (--rate, sent on a schedule: open loop; the same rate for every build compared, since
 * group commit shares a commit between overlapping logins). The main thread's CPU time (utime + stime of /proc/<pid>/task/<pid>/stat, Linux)
 * over the measured logins, divided by them, is the event-loop CPU per login; the whole process's
 * (hashing threads included) is reported beside it.
 *
 *   --logins=N   how many measured logins (default 300; --short: 40)
 *   --rate=N     logins per second offered (default 20: below the hashing capacity of 2 cores at
 *                the default argon2 parameters, so no login waits for another's hash)
 *   --profile    run the server under `node --cpu-prof` and print where the profile was written
 *   --warm-up=N  successful logins before measuring, the first 20 one at a time, the rest 2 at a time (default 20;
 *                --short: 5); a few thousand let V8 optimise the login path first
 *   --idle=S     seconds of no requests, measured before the logins: the main thread's background CPU
 *                per second (default 5; --short: 1; 0: skip)
 *   --perf       sample the main thread over the measured logins with `perf record -g` (on-CPU time
 *                only, unlike --profile, whose samples count a thread blocked in fsync as busy); the
 *                server runs with --perf-basic-prof-only-functions so that perf names JavaScript frames
 *   --strace     count the main thread's system calls over the measured logins (strace -c; slows them,
 *                so that run's CPU figures are not comparable)
 *   --bin=PATH   another build's bin/portcullis.js (e.g. a copy of bin/ and dist/ made
 *                before a change, beside a node_modules link), to compare two builds in one sitting
 *   Any server setting can be given through the environment (e.g. DATABASE_URL=postgres://...).
 *
 * The last line of output is `RESULT {json}`.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { UNTHROTTLED } from '../test/helpers/unthrottled.js';
import { freePort, post } from './http-client.js';
import { mainThreadCpu, mainThreadRunMs, processCpuMs } from './proc-stat.js';

const SHORT = process.argv.includes('--short');
const PROFILE = process.argv.includes('--profile');
const LOGINS_ARG = process.argv.find((arg) => arg.startsWith('--logins='))?.slice('--logins='.length);
const LOGINS = LOGINS_ARG === undefined ? (SHORT ? 40 : 300) : Number(LOGINS_ARG);
const RATE_ARG = process.argv.find((arg) => arg.startsWith('--rate='))?.slice('--rate='.length);
const RATE = RATE_ARG === undefined ? 20 : Number(RATE_ARG);
const WARM_UP_ARG = process.argv.find((arg) => arg.startsWith('--warm-up='))?.slice('--warm-up='.length);
const WARM_UP_LOGINS = WARM_UP_ARG === undefined ? (SHORT ? 5 : 20) : Number(WARM_UP_ARG);
const IDLE_ARG = process.argv.find((arg) => arg.startsWith('--idle='))?.slice('--idle='.length);
const IDLE_SECONDS = IDLE_ARG === undefined ? (SHORT ? 1 : 5) : Number(IDLE_ARG);
const STRACE = process.argv.includes('--strace');
const PERF = process.argv.includes('--perf');
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = process.argv.find((arg) => arg.startsWith('--bin='))?.slice('--bin='.length) ?? join(ROOT, 'bin/portcullis.js');
const CORES = os.availableParallelism();
const USER = 'cpu-user';
const PASSWORD = 'cpu-password-0123';
const FORM = 'application/x-www-form-urlencoded';
const LOGIN_BODY = new URLSearchParams({ username: USER, password: PASSWORD }).toString();

const round = (n: number, digits = 3): number => Number(n.toFixed(digits));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A tracer attached to the main thread only (its thread id is the process id) over the measured
 * logins: `strace -c` (stop() returns its summary) or `perf record` (stop() returns where it wrote).
 */
async function startTracer(command: string, args: string[]): Promise<{ stop: () => Promise<string> }> {
  const tracer = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  tracer.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const done = new Promise<void>((resolve) => {
    tracer.once('exit', () => resolve());
    // Not installed: the run goes on, and the summary says why.
    tracer.once('error', (error) => {
      output += `${command}: ${error.message}`;
      resolve();
    });
  });
  await sleep(500); // attached
  return {
    stop: async () => {
      tracer.kill('SIGINT');
      await done;
      return output;
    },
  };
}

async function main(): Promise<void> {
  if (!Number.isInteger(LOGINS) || LOGINS < 1) throw new Error(`--logins must be a positive integer, not ${LOGINS_ARG}`);
  if (!(RATE > 0)) throw new Error(`--rate must be a positive number, not ${RATE_ARG}`);
  if (!Number.isInteger(WARM_UP_LOGINS) || WARM_UP_LOGINS < 0) throw new Error(`--warm-up must be an integer >= 0, not ${WARM_UP_ARG}`);
  if (!(IDLE_SECONDS >= 0)) throw new Error(`--idle must be a number >= 0, not ${IDLE_ARG}`);
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing`);
  const dataDir = mkdtempSync(join(os.tmpdir(), 'portcullis-login-cpu-'));
  const profileDir = PROFILE ? mkdtempSync(join(os.tmpdir(), 'portcullis-login-cpu-profile-')) : undefined;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    REGISTRATION: 'open',
    WORKERS: '1',
    ...UNTHROTTLED,
    SECRET_KEY: randomBytes(32).toString('hex'),
    DATA_DIR: dataDir,
    DATABASE_URL: `sqlite:${join(dataDir, 'portcullis.db')}`,
    ISSUER: 'http://127.0.0.1',
    ...process.env,
    PORT: String(port),
  };
  const nodeArgs = [
    ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
    ...(PERF ? ['--perf-basic-prof-only-functions'] : []),
  ];
  const server = spawn(process.execPath, [...nodeArgs, BIN, 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  server.stdout!.resume();
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  try {
    const deadline = performance.now() + 30_000;
    for (;;) {
      if (server.exitCode !== null) throw new Error(`the server exited (${server.exitCode}) before answering`);
      const ready = await fetch(`${url}/healthz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) break;
      if (performance.now() > deadline) throw new Error('the server did not answer /healthz within 30 s');
      await sleep(20);
    }
    const signUp = await post(url, '/users', 'application/json', JSON.stringify({ username: USER, password: PASSWORD }));
    if (signUp.status !== 201) throw new Error(`sign-up: ${signUp.status} ${signUp.text}`);

    // Warm-up: the first 20 logins one at a time (what one takes alone is reported), the rest
    // CORES at a time (so that V8 has optimised the path before it is measured: --warm-up=2000).
    const alone: number[] = [];
    for (let i = 0; i < Math.min(WARM_UP_LOGINS, 20); i++) {
      const t0 = performance.now();
      const response = await post(url, '/token', FORM, LOGIN_BODY);
      if (response.status !== 200) throw new Error(`login: ${response.status} ${response.text}`);
      alone.push(performance.now() - t0);
    }
    // Only logins that succeeded count (a 503 from admission control on a busy machine skips the
    // session's commit and the token): on a 503 the loop waits a moment and tries again.
    let warmUpLeft = WARM_UP_LOGINS - alone.length;
    await Promise.all(
      Array.from({ length: CORES }, async () => {
        while (warmUpLeft > 0) {
          const response = await post(url, '/token', FORM, LOGIN_BODY);
          if (response.status === 200) warmUpLeft -= 1;
          else if (response.status === 503) await sleep(50);
          else throw new Error(`login: ${response.status} ${response.text}`);
        }
      }),
    );
    alone.sort((a, b) => a - b);
    const aloneMs = alone[Math.floor(alone.length / 2)]!;
    const ratePerSecond = RATE;
    const pid = server.pid;

    // The main thread's CPU with no request at all (timers, GC, the hashing threads' idle ports):
    // what a login at this rate carries of it is idleMsPerSecond / rate.
    const idleBefore = mainThreadRunMs(pid);
    const idleStarted = performance.now();
    if (IDLE_SECONDS > 0) await sleep(IDLE_SECONDS * 1000);
    const idleMs = mainThreadRunMs(pid) - idleBefore;
    const idleMsPerSecond = IDLE_SECONDS > 0 ? idleMs / ((performance.now() - idleStarted) / 1000) : Number.NaN;

    // --strace: count the main thread's system calls over the measured logins (strace slows each call:
    // the CPU figures of such a run are not comparable).
    const strace = STRACE ? await startTracer('strace', ['-c', '-p', String(pid)]) : undefined;
    const perfData = join(os.tmpdir(), `portcullis-login-cpu-${pid}.perf.data`);
    const perf = PERF ? await startTracer('perf', ['record', '-F', '999', '-g', '-t', String(pid), '-o', perfData]) : undefined;
    const mainBefore = mainThreadCpu(pid);
    const runBefore = mainThreadRunMs(pid);
    const processBefore = processCpuMs(pid);
    const statuses: Record<string, number> = {};
    const started = performance.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < LOGINS; i++) {
      const due = started + (i * 1000) / ratePerSecond;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      pending.push(
        post(url, '/token', FORM, LOGIN_BODY).then(
          (response) => void (statuses[response.status] = (statuses[response.status] ?? 0) + 1),
          () => void (statuses.error = (statuses.error ?? 0) + 1),
        ),
      );
    }
    await Promise.all(pending);
    const seconds = (performance.now() - started) / 1000;
    const mainAfter = mainThreadCpu(pid);
    const runMs = mainThreadRunMs(pid) - runBefore;
    const mainUserMs = mainAfter.userMs - mainBefore.userMs;
    const mainSystemMs = mainAfter.systemMs - mainBefore.systemMs;
    const mainMs = mainUserMs + mainSystemMs;
    const processMs = processCpuMs(pid) - processBefore;
    const syscalls = strace ? await strace.stop() : undefined;
    if (perf) await perf.stop();
    const ok = statuses['200'] ?? 0;
    const result = {
      date: new Date().toISOString(),
      short: SHORT,
      node: process.version,
      cores: CORES,
      bin: BIN,
      database: String(env.DATABASE_URL).split(':')[0],
      aloneMs: round(aloneMs, 1),
      offeredPerSecond: round(ratePerSecond, 1),
      loginsPerSecond: round(ok / seconds, 1),
      logins: LOGINS,
      statuses,
      mainThreadCpuMs: { user: mainUserMs, system: mainSystemMs },
      processCpuMs: processMs,
      eventLoopCpuMsPerLogin: round(mainMs / Math.max(1, ok)),
      eventLoopRunMsPerLogin: round(runMs / Math.max(1, ok)),
      eventLoopUserMsPerLogin: round(mainUserMs / Math.max(1, ok)),
      eventLoopSystemMsPerLogin: round(mainSystemMs / Math.max(1, ok)),
      idleSeconds: IDLE_SECONDS,
      idleMsPerSecond: round(idleMsPerSecond, 2),
      idleMsPerLogin: round(idleMsPerSecond / ratePerSecond),
      processCpuMsPerLogin: round(processMs / Math.max(1, ok)),
      clockTickMs: 10,
    };
    console.log(
      `${ok} logins at ${result.loginsPerSecond}/s (offered ${result.offeredPerSecond}/s; one alone takes ${result.aloneMs} ms), ${JSON.stringify(statuses)}\n` +
        `event-loop (main thread) CPU per login: ${result.eventLoopCpuMsPerLogin} ms (${mainUserMs} ms user + ${mainSystemMs} ms system in all; /proc counts 10 ms ticks); ` +
        `scheduler's count (schedstat, ns): ${result.eventLoopRunMsPerLogin} ms; ` +
        `whole process: ${result.processCpuMsPerLogin} ms per login\n` +
        `idle main thread (no requests, ${IDLE_SECONDS} s before the logins): ${result.idleMsPerSecond} ms of CPU per second, ` +
        `${result.idleMsPerLogin} ms per login at this rate`,
    );
    if (perf)
      console.log(`perf samples of the main thread over the measured logins: ${perfData} (perf report -i ${perfData} --no-children)`);
    if (syscalls !== undefined) console.log(`main thread's system calls over the measured logins (strace -c):\n${syscalls}`);
    // A few 503s (admission control on a busy shared machine) leave the figure per successful login sound; none is a failure.
    if (ok === 0) throw new Error(`no login succeeded: ${JSON.stringify(statuses)}`);
    server.kill('SIGTERM');
    await exited;
    if (profileDir)
      console.log(
        `CPU profile of the server: ${readdirSync(profileDir)
          .map((file) => join(profileDir, file))
          .join(', ')}`,
      );
    console.log(`RESULT ${JSON.stringify(result)}`);
  } finally {
    if (server.exitCode === null && server.signalCode === null) {
      server.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
