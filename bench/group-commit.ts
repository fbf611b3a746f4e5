/**
 * SQLite group commit, A/B: refresh rotations per second with SQLITE_GROUP_COMMIT=off
 * (one synced COMMIT per transaction) and on (overlapping transactions share one),
 * both at the default synchronous=FULL, interleaved off/on/on/off/... so that the
 * load of a shared machine falls on both alike. Prints each run, the medians and
 * the on/off ratio.
 *
 *   node --import tsx bench/group-commit.ts                      # both parts, 3 rounds of 4 s per setting
 *   node --import tsx bench/group-commit.ts --part=service --seconds=3 --rounds=5 --chains=4,16,64
 *
 * service: the real core service (composePortcullis: TokenService.refreshGrant over
 *   SqlSessionStore on a temp SQLite file) in this process; `chains` concurrent chains,
 *   each presenting the refresh token the previous rotation returned.
 * http: `portcullis serve` (WORKERS=1, or --workers=N; from src/ through tsx, not dist/) as a
 *   child process, and `http-chains` keep-alive node:http loops of POST /token grant_type=refresh_token from here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadConfig } from '../src/server/config.js';
import { composePortcullis } from '../src/server/compose-portcullis.js';
import { UNTHROTTLED } from '../test/helpers/unthrottled.js';
import { freePort, post } from './http-client.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Map(
  process.argv
    .slice(2)
    .filter((a) => a.startsWith('--'))
    .map((a) => {
      const [key, value = 'true'] = a.slice(2).split('=');
      return [key!, value] as const;
    }),
);
const SECONDS = Number(args.get('seconds') ?? 4);
const ROUNDS = Number(args.get('rounds') ?? 3);
const PART = args.get('part') ?? 'both';
const SERVICE_CHAINS = (args.get('chains') ?? '4,16,64').split(',').map(Number);
const HTTP_CHAINS = (args.get('http-chains') ?? '4,16').split(',').map(Number);
/** serve's WORKERS: 1 is the target's setting; 2 shows two processes sharing the file (the default on 2 cores). */
const WORKERS = args.get('workers') ?? '1';
const SECRET_KEY = 'group-commit-bench-secret-key-long-enough-0123456789';
const USER = 'bench-user';
const PASSWORD = 'bench-password-0123';
const CONTEXT = { actor: USER, ip: '127.0.0.1' };

type Setting = 'off' | 'on';
interface Run {
  readonly setting: Setting;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly failed: number;
  /** CPU time (user + system) of the process that rotates, per rotation; undefined where it cannot be read. */
  readonly cpuUsPerRotation?: number;
}

const round = (n: number, digits = 1): number => Number(n.toFixed(digits));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted: readonly number[], p: number): number =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
const median = (values: readonly number[]): number =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

/** off, on, on, off, off, on, ...: each setting goes first as often as the other. */
function interleaved(rounds: number): Setting[] {
  const order: Setting[] = [];
  for (let i = 0; i < rounds; i++) order.push(...((i % 2 === 0 ? ['off', 'on'] : ['on', 'off']) as Setting[]));
  return order;
}

/** `chains` loops, each running `step` on its own state until the time is up. */
async function runChains<S>(
  states: S[],
  seconds: number,
  step: (state: S) => Promise<S>,
  cpuMicros: () => number | undefined = () => undefined,
): Promise<Omit<Run, 'setting'>> {
  const times: number[] = [];
  const cpuBefore = cpuMicros();
  let failed = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    states.map(async (initial) => {
      let state = initial;
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          state = await step(state);
          times.push(performance.now() - t0);
        } catch (error) {
          failed += 1;
          if (failed === 1) console.error('  first failure:', error instanceof Error ? error.message : error);
          return;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpuAfter = cpuMicros();
  times.sort((a, b) => a - b);
  return {
    perSecond: round(times.length / elapsed),
    p50Ms: round(percentile(times, 50), 2),
    p99Ms: round(percentile(times, 99), 2),
    failed,
    ...(cpuBefore !== undefined && cpuAfter !== undefined && times.length > 0
      ? { cpuUsPerRotation: Math.round((cpuAfter - cpuBefore) / times.length) }
      : {}),
  };
}

function baseEnv(dataDir: string, setting: Setting): Record<string, string> {
  return { SECRET_KEY, DATA_DIR: dataDir, LOG_LEVEL: 'silent', REGISTRATION: 'open', SQLITE_GROUP_COMMIT: setting, ...UNTHROTTLED };
}

// ---------------------------------------------------------------- the service, in process
async function serviceRun(setting: Setting, chains: number): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), 'portcullis-gc-bench-'));
  const composed = await composePortcullis(loadConfig(baseEnv(dataDir, setting)));
  try {
    const { portcullis } = composed;
    await portcullis.signUp({ username: USER, password: PASSWORD }, CONTEXT);
    const tokens: string[] = [];
    for (let i = 0; i < chains; i++) {
      const answer = await portcullis.passwordGrant({ username: USER, password: PASSWORD }, undefined, CONTEXT);
      tokens.push(answer.refresh_token!);
    }
    const result = await runChains(
      tokens,
      SECONDS,
      async (token) => {
        const answer = await portcullis.refreshGrant(token, undefined, undefined, CONTEXT);
        return answer.refresh_token!;
      },
      () => {
        const { user, system } = process.cpuUsage();
        return user + system;
      },
    );
    return { setting, ...result };
  } finally {
    await composed.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- the HTTP server, as a child process

async function startServe(setting: Setting, dataDir: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  // An entry file of its own (cluster workers re-run process.argv[1]), running src/ through tsx.
  const entry = join(dataDir, 'serve.mjs');
  const main = JSON.stringify(pathToFileURL(join(ROOT, 'src/cli/main.ts')).href);
  writeFileSync(entry, `const { main } = await import(${main});\nprocess.exitCode = await main(['serve']);\n`);
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...baseEnv(dataDir, setting),
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(port),
      WORKERS,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let waited = 0; ; waited += 50) {
    if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}`);
    if (waited > 30_000) {
      child.kill('SIGKILL');
      throw new Error('serve did not answer within 30 s');
    }
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { url, child };
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
}

/** utime + stime of a process (Linux), in µs; with WORKERS > 1 the workers are other processes, so undefined. */
function processCpuMicros(pid: number | undefined): number | undefined {
  if (pid === undefined || WORKERS !== '1') return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1_000_000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

async function stopServe(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const form = (fields: Record<string, string>): string => new URLSearchParams(fields).toString();

async function postToken(url: string, fields: Record<string, string>): Promise<string> {
  const { status, text } = await post(url, '/token', FORM['content-type'], form(fields));
  const token = status === 200 ? (JSON.parse(text) as { refresh_token?: string }).refresh_token : undefined;
  if (token === undefined) throw new Error(`POST /token answered ${status}`);
  return token;
}

async function httpRun(setting: Setting, chains: number): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), 'portcullis-gc-bench-'));
  let child: ChildProcess | undefined;
  try {
    const started = await startServe(setting, dataDir);
    child = started.child;
    const url = started.url;
    const signUp = await fetch(`${url}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: USER, password: PASSWORD }),
    });
    if (signUp.status !== 201) throw new Error(`sign-up answered ${signUp.status}`);
    const tokens: string[] = [];
    for (let i = 0; i < chains; i++) tokens.push(await postToken(url, { username: USER, password: PASSWORD }));
    // Warm-up (JIT, first statements), not counted.
    const warm = await runChains(tokens, 1, (token) => postToken(url, { grant_type: 'refresh_token', refresh_token: token }));
    if (warm.failed > 0) throw new Error('the warm-up failed');
    const fresh: string[] = [];
    for (let i = 0; i < chains; i++) fresh.push(await postToken(url, { username: USER, password: PASSWORD }));
    const result = await runChains(
      fresh,
      SECONDS,
      (token) => postToken(url, { grant_type: 'refresh_token', refresh_token: token }),
      () => processCpuMicros(started.child.pid),
    );
    return { setting, ...result };
  } finally {
    if (child) await stopServe(child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- report
async function compare(label: string, run: (setting: Setting) => Promise<Run>): Promise<void> {
  const runs: Run[] = [];
  for (const setting of interleaved(ROUNDS)) {
    const result = await run(setting);
    runs.push(result);
    console.log(
      `  ${label} ${setting.padEnd(3)}: ${String(result.perSecond).padStart(7)} rotations/s  p50 ${result.p50Ms} ms  p99 ${result.p99Ms} ms` +
        (result.cpuUsPerRotation !== undefined ? `  cpu ${result.cpuUsPerRotation} µs/rotation` : '') +
        (result.failed ? `  FAILED ${result.failed}` : ''),
    );
  }
  const of = (setting: Setting) => runs.filter((r) => r.setting === setting);
  const off = median(of('off').map((r) => r.perSecond));
  const on = median(of('on').map((r) => r.perSecond));
  // Ratios of the pairs run back to back, too: they share the machine's load of the moment.
  const pairs = runs.reduce<number[]>((ratios, r, i) => {
    if (i % 2 === 1) {
      const a = runs[i - 1]!;
      ratios.push(round(r.setting === 'on' ? r.perSecond / a.perSecond : a.perSecond / r.perSecond, 2));
    }
    return ratios;
  }, []);
  const cpu = (setting: Setting) => median(of(setting).flatMap((r) => (r.cpuUsPerRotation === undefined ? [] : [r.cpuUsPerRotation])));
  const cpuNote = Number.isNaN(cpu('off')) ? '' : `; cpu per rotation off ${cpu('off')} µs, on ${cpu('on')} µs`;
  console.log(`  ${label} median: off ${off}/s, on ${on}/s, ratio on/off ${round(on / off, 2)} (pairwise ${pairs.join(', ')})${cpuNote}`);
}

console.log(`SQLite group commit A/B (synchronous=FULL), ${ROUNDS} rounds of ${SECONDS} s per setting, interleaved`);
if (PART === 'both' || PART === 'service') {
  for (const chains of SERVICE_CHAINS) {
    console.log(`service (in process, core refreshGrant), ${chains} chains:`);
    await compare(`service/${chains}`, (setting) => serviceRun(setting, chains));
  }
}
if (PART === 'both' || PART === 'http') {
  for (const chains of HTTP_CHAINS) {
    console.log(`http (portcullis serve, WORKERS=${WORKERS}, child process), ${chains} keep-alive loops:`);
    await compare(`http/${chains}`, (setting) => httpRun(setting, chains));
  }
}
