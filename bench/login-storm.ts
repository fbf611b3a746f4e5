/**
 * bench/login-storm.ts — does a login storm slow down requests that do not hash?
 *
 * Starts the real server (startServer, as `portcullis serve` does) in a child process with
 * production settings (NODE_ENV=production, LOG_LEVEL=warn, a temp SQLite file, the default
 * HASH_CONCURRENCY / HASH_QUEUE_LIMIT / HASH_MAX_WAIT_MS) and rate limits and the login backoff set
 * high, so that the storm reaches the hashing pool instead of being turned away by a 429.
 *
 *   1. idle:  GET /users/me with a valid token at a fixed rate (autocannon, loopback) for a while;
 *   2. storm: a second child process (at nice 10, so that on a small machine the load generator
 *             does not take the CPU from the server it attacks) runs autocannon POST /token over
 *             200 connections at an offered 1000 logins/s, many times what the pool can hash (a
 *             third each of right passwords, wrong passwords and unknown users, over 16
 *             accounts); while it runs, GET /users/me is measured again as in 1.
 *             --storm-rate=N changes the offered rate; --storm-rate=0 sends as fast as the server
 *             answers, which saturates the event loop with the refusals themselves: that flood is
 *             the rate limits' job (here set high), not admission control's.
 * Latencies are every response's own time (autocannon's `response` event, sub-millisecond), not
 * autocannon's millisecond histogram. Reported: p50/p90/p99/max idle vs storm and the ratios, the
 * logins per second and how they were answered (200/401 after hashing, 503 from admission
 * control, anything else), and the hashing pool's counters from the server.
 *
 * Any setting can be changed through the environment (e.g. HASH_MAX_WAIT_MS=250).
 * The last line of output is `RESULT {json}`; the JSON is also written to
 * bench/results/<date>-storm.json (with --short: to a temp folder, whose path is printed).
 *
 * Run:   npm run bench:storm                       (~45 s)
 *        npm run bench:storm -- --storm-rate=0     (unbounded flood)
 *        npm run bench:storm -- --short            (~10 s, a smoke check; numbers are not meaningful)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ChildLines } from './child-lines.js';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { UNTHROTTLED } from '../test/helpers/server.js';

const SHORT = process.argv.includes('--short');
const ROLE = process.argv.find((arg) => arg.startsWith('--role='))?.slice('--role='.length);
const SELF = fileURLToPath(import.meta.url);
const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

const RATE_ARG = process.argv.find((arg) => arg.startsWith('--storm-rate='))?.slice('--storm-rate='.length);
const PLAN = {
  ...(SHORT
    ? { idleSeconds: 2, stormSeconds: 2, rampSeconds: 1, stormConnections: 50, stormRate: 300, meConnections: 2, meRate: 200 }
    : { idleSeconds: 15, stormSeconds: 15, rampSeconds: 3, stormConnections: 200, stormRate: 1000, meConnections: 4, meRate: 400 }),
  ...(RATE_ARG === undefined ? {} : { stormRate: Number(RATE_ARG) }),
};
const ACCOUNTS = 16;
const STORM_NICE = 10;
const PASSWORD = 'storm-password-0123';

/** Settings for the server; the environment may override these. */
const DEFAULTS: Record<string, string> = {
  LOG_LEVEL: 'warn',
  // One serving process, as in bench/run.ts: its hashing threads get the cores (HASH_CONCURRENCY = cores ÷ WORKERS).
  WORKERS: '1',
  ...UNTHROTTLED,
};

interface LatencySummary {
  requests: number;
  perSecond: number;
  statuses: Record<string, number>;
  errors: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

interface StormSummary {
  seconds: number;
  connections: number;
  requests: number;
  perSecond: number;
  statuses: Record<string, number>;
  hashedPerSecond: number;
  errors: number;
  timeouts: number;
  hashedP50Ms: number;
  hashedP99Ms: number;
  refusedP99Ms: number;
}

const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

// ---------------------------------------------------------------- role: server
async function serveRole(): Promise<void> {
  const { loadConfig } = await import('../src/server/config.js');
  const { startServer } = await import('../src/server/start-server.js');
  const { createLogger } = await import('../src/server/logger.js');
  const config = loadConfig(process.env);
  const server = await startServer(config, createLogger(config.logLevel));
  const settings = {
    hashConcurrency: config.hashConcurrency,
    hashQueueLimit: config.hashQueueLimit,
    hashMaxWaitMs: config.abuse.hashMaxWaitMs,
    argon2: config.argon2,
    production: config.production,
  };
  console.log(`READY ${server.url} ${JSON.stringify(settings)}`);
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line === 'stats') console.log(`STATS ${JSON.stringify(server.hashLimiter.stats())}`);
    if (line === 'stop') void server.close().then(() => process.exit(0));
  });
}

// ---------------------------------------------------------------- role: storm
async function stormRole(): Promise<void> {
  const url = process.env.STORM_URL ?? '';
  const seconds = Number(process.env.STORM_SECONDS);
  const connections = Number(process.env.STORM_CONNECTIONS);
  const rate = Number(process.env.STORM_RATE);
  const form = (username: string, password: string): string => new URLSearchParams({ username, password }).toString();
  const bodies: string[] = [];
  for (let i = 0; i < ACCOUNTS; i++) {
    bodies.push(form(`storm-${i}`, PASSWORD), form(`storm-${i}`, `wrong-${i}`), form(`nobody-${i}`, PASSWORD));
  }
  const hashed: number[] = [];
  const refused: number[] = [];
  const instance = autocannon({
    url,
    connections,
    duration: seconds,
    ...(rate > 0 ? { overallRate: rate } : {}),
    timeout: 10,
    requests: bodies.map((body) => ({
      method: 'POST',
      path: '/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    })),
  });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status === 200 || status === 401) hashed.push(ms);
    else refused.push(ms);
  });
  const result = await instance;
  hashed.sort((a, b) => a - b);
  refused.sort((a, b) => a - b);
  const summary: StormSummary = {
    seconds: result.duration,
    connections,
    requests: result.requests.total,
    perSecond: round(result.requests.total / result.duration, 1),
    statuses: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count])),
    hashedPerSecond: round(hashed.length / result.duration, 1),
    errors: result.errors,
    timeouts: result.timeouts,
    hashedP50Ms: round(percentile(hashed, 50)),
    hashedP99Ms: round(percentile(hashed, 99)),
    refusedP99Ms: round(percentile(refused, 99)),
  };
  console.log(`STORM ${JSON.stringify(summary)}`);
}

// ---------------------------------------------------------------- orchestration
async function measureMe(url: string, token: string, seconds: number): Promise<LatencySummary> {
  const times: number[] = [];
  const instance = autocannon({
    url: `${url}/users/me`,
    connections: PLAN.meConnections,
    overallRate: PLAN.meRate,
    duration: seconds,
    timeout: 10,
    headers: { authorization: `Bearer ${token}` },
  });
  instance.on('response', (_client, _status, _bytes, ms) => times.push(ms));
  const result = await instance;
  times.sort((a, b) => a - b);
  return {
    requests: result.requests.total,
    perSecond: round(result.requests.total / result.duration, 1),
    statuses: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count])),
    errors: result.errors + result.timeouts,
    p50Ms: round(percentile(times, 50), 3),
    p90Ms: round(percentile(times, 90), 3),
    p99Ms: round(percentile(times, 99), 3),
    maxMs: round(times.at(-1) ?? Number.NaN, 3),
    meanMs: round(times.reduce((sum, t) => sum + t, 0) / Math.max(1, times.length), 3),
  };
}

function child(role: string, env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', SELF, `--role=${role}`], { env, stdio: ['pipe', 'pipe', 'inherit'] });
}

async function post(url: string, path: string, type: string, body: string): Promise<Response> {
  return fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': type }, body });
}

async function main(): Promise<void> {
  const started = Date.now();
  const dataDir = mkdtempSync(join(os.tmpdir(), 'portcullis-storm-'));
  const env: NodeJS.ProcessEnv = {
    ...DEFAULTS,
    ...process.env,
    NODE_ENV: 'production',
    SECRET_KEY: randomBytes(32).toString('hex'),
    DATA_DIR: dataDir,
    DATABASE_URL: `sqlite:${join(dataDir, 'portcullis.db')}`,
    HOST: '127.0.0.1',
    PORT: '0',
    ISSUER: 'http://127.0.0.1',
    REGISTRATION: 'open',
  };
  const server = child('server', env);
  const serverLines = new ChildLines(server);
  let storm: ChildProcess | undefined;
  try {
    const [url = '', settingsJson = '{}'] = (await serverLines.next('READY', 30_000)).split(' ');
    const settings = JSON.parse(settingsJson) as Record<string, unknown>;
    const stats = async (): Promise<Record<string, number>> => {
      const line = serverLines.next('STATS', 5_000);
      server.stdin?.write('stats\n');
      return JSON.parse(await line) as Record<string, number>;
    };

    for (let i = 0; i < ACCOUNTS; i++) {
      const response = await post(url, '/users', 'application/json', JSON.stringify({ username: `storm-${i}`, password: PASSWORD }));
      if (response.status !== 201) throw new Error(`sign-up failed: ${response.status} ${await response.text()}`);
    }
    const login = await post(url, '/token', 'application/x-www-form-urlencoded', `username=storm-0&password=${PASSWORD}`);
    if (login.status !== 200) throw new Error(`login failed: ${login.status}`);
    const { access_token: token } = (await login.json()) as { access_token: string };
    const me = await fetch(`${url}/users/me`, { headers: { authorization: `Bearer ${token}` } });
    if (me.status !== 200) throw new Error(`GET /users/me: ${me.status}`);

    console.log(`Login storm benchmark${SHORT ? ' (--short)' : ''}: ${url}, ${os.cpus().length} CPUs, ${JSON.stringify(settings)}`);
    console.log(`idle: GET /users/me at ${PLAN.meRate}/s over ${PLAN.meConnections} connections for ${PLAN.idleSeconds} s`);
    const idle = await measureMe(url, token, PLAN.idleSeconds);
    const before = await stats();

    const stormSeconds = PLAN.rampSeconds + PLAN.stormSeconds + 1;
    const offered = PLAN.stormRate > 0 ? `${PLAN.stormRate}/s` : 'as fast as the server answers';
    console.log(
      `storm: POST /token at ${offered} over ${PLAN.stormConnections} connections for ${stormSeconds} s; measuring after ${PLAN.rampSeconds} s`,
    );
    storm = child('storm', {
      ...process.env,
      STORM_URL: url,
      STORM_SECONDS: String(stormSeconds),
      STORM_CONNECTIONS: String(PLAN.stormConnections),
      STORM_RATE: String(PLAN.stormRate),
    });
    // The attackers' machines are elsewhere: on a small machine the storm's own load generator should not
    // take the CPU from the server it attacks (it still offers many times the logins the pool can hash).
    if (storm.pid !== undefined) os.setPriority(storm.pid, STORM_NICE);
    const stormLine = new ChildLines(storm).next('STORM', (stormSeconds + 30) * 1000);
    await new Promise((resolve) => setTimeout(resolve, PLAN.rampSeconds * 1000));
    const duringStats = await stats();
    const during = await measureMe(url, token, PLAN.stormSeconds);
    const stormResult = JSON.parse(await stormLine) as StormSummary;
    const after = await stats();

    const statuses = stormResult.statuses;
    const result = {
      date: new Date().toISOString(),
      short: SHORT,
      node: process.version,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cpus: os.cpus().length,
      plan: PLAN,
      server: settings,
      idle,
      storm: during,
      ratio: { p50: round(during.p50Ms / idle.p50Ms), p99: round(during.p99Ms / idle.p99Ms) },
      logins: {
        ...stormResult,
        ok200: statuses['200'] ?? 0,
        wrong401: statuses['401'] ?? 0,
        overloaded503: statuses['503'] ?? 0,
        other: Object.entries(statuses)
          .filter(([code]) => !['200', '401', '503'].includes(code))
          .reduce((sum, [, count]) => sum + count, 0),
      },
      hashPool: {
        queuedWhileStorming: duringStats.queued,
        rejected: (after.rejected ?? 0) - (before.rejected ?? 0),
        timedOut: (after.timedOut ?? 0) - (before.timedOut ?? 0),
        completed: (after.completed ?? 0) - (before.completed ?? 0),
        averageTaskMs: round(after.averageTaskMs ?? 0),
        averageWaitMs: round(after.averageWaitMs ?? 0),
      },
      seconds: round((Date.now() - started) / 1000, 1),
      file: '',
    };
    const dir = SHORT ? mkdtempSync(join(os.tmpdir(), 'portcullis-storm-result-')) : RESULTS_DIR;
    mkdirSync(dir, { recursive: true });
    result.file = join(dir, `${result.date.slice(0, 10)}-storm.json`);
    writeFileSync(result.file, `${JSON.stringify(result, null, 2)}\n`);

    const row = (label: string, s: LatencySummary): string =>
      `${label.padEnd(6)} ${String(s.requests).padStart(7)} ${s.perSecond.toFixed(0).padStart(6)}/s  p50 ${s.p50Ms.toFixed(2).padStart(7)}  p90 ${s.p90Ms.toFixed(2).padStart(7)}  p99 ${s.p99Ms.toFixed(2).padStart(7)}  max ${s.maxMs.toFixed(1).padStart(7)} ms  ${JSON.stringify(s.statuses)}`;
    console.log('');
    console.log('GET /users/me');
    console.log(row('idle', idle));
    console.log(row('storm', during));
    console.log(`ratio  p50 x${result.ratio.p50}  p99 x${result.ratio.p99}`);
    console.log('');
    console.log(
      `POST /token storm: ${stormResult.requests} answers in ${stormResult.seconds} s (${stormResult.perSecond}/s); ` +
        `200: ${result.logins.ok200}, 401: ${result.logins.wrong401}, 503: ${result.logins.overloaded503}, other: ${result.logins.other}; ` +
        `hashed ${stormResult.hashedPerSecond}/s (p50 ${stormResult.hashedP50Ms} ms, p99 ${stormResult.hashedP99Ms} ms), ` +
        `503 p99 ${stormResult.refusedP99Ms} ms`,
    );
    console.log(
      `hash pool: ${result.hashPool.completed} hashes, ${result.hashPool.rejected} refused (${result.hashPool.timedOut} after waiting), ` +
        `${result.hashPool.queuedWhileStorming} queued mid-storm, average hash ${result.hashPool.averageTaskMs} ms`,
    );
    console.log(`written to ${result.file}`);
    console.log(`RESULT ${JSON.stringify(result)}`);
    server.stdin?.write('stop\n');
    await new Promise((resolve) => server.once('exit', resolve));
  } finally {
    if (storm && storm.exitCode === null) storm.kill('SIGTERM');
    if (server.exitCode === null) server.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (ROLE === 'server') await serveRole();
else if (ROLE === 'storm') await stormRole();
else await main();
