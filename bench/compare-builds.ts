/**
 * bench/compare-builds.ts — `GET /users/me` served by two builds of Portcullis, in alternating
 * rounds: what one change to the hot path buys. Each argument is a checkout with dist/ built
 * (`npm run build`); the first is A, the second B.
 *
 *   node --import tsx bench/compare-builds.ts <checkout A> <checkout B> [--rounds 6] [--seconds 3] [--log-level info]
 *
 * Both servers run with the same settings (those of `npm run bench`: NODE_ENV=production, WORKERS=1,
 * SQLite, throttles off; METRICS=on; LOG_LEVEL=info, the default, its stdout a pipe that is read;
 * `--log-level warn` for the tuned setting) on 127.0.0.1, each on a data folder of its own
 * with the same user; autocannon drives one at a time (10 keep-alive connections), A then B in each
 * round after a warm-up of each. Per round and server: req/s, p99, and the server's CPU time per
 * request (user + system from /proc/<pid>/stat over the round, divided by the requests answered).
 * Prints the medians, B/A, and every round.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { UNTHROTTLED } from '../test/helpers/server.js';
import { freePort } from './http-client.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '6' },
    seconds: { type: 'string', default: '3' },
    'log-level': { type: 'string', default: 'info' },
  },
});
if (positionals.length !== 2) {
  console.error('usage: node --import tsx bench/compare-builds.ts <checkout A> <checkout B> [--rounds 6] [--seconds 3] [--log-level info]');
  process.exit(2);
}
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);
const CONNECTIONS = 10;
const CLOCK_TICKS_PER_SECOND = 100;
const PASSWORD = 'bench-password-0123';

interface Server {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly url: string;
  readonly dataDir: string;
  token: string;
}

/** The process's user + system CPU time in seconds (Linux /proc; USER_HZ is 100 there). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

async function start(name: string, checkout: string): Promise<Server> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'portcullis-compare-'));
  const env = {
    ...process.env,
    ...UNTHROTTLED,
    NODE_ENV: 'production',
    LOG_LEVEL: values['log-level'],
    HOST: '127.0.0.1',
    PORT: String(port),
    WORKERS: '1',
    REGISTRATION: 'open',
    METRICS: 'on',
    METRICS_TOKEN: randomBytes(16).toString('base64url'),
    SECRET_KEY: randomBytes(32).toString('base64url'),
    ISSUER: 'http://127.0.0.1',
    DATA_DIR: dataDir,
  };
  const proc = spawn(process.execPath, [join(checkout, 'bin/portcullis.js'), 'serve'], {
    cwd: checkout,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // Read, as a container runtime or log shipper reads it (not /dev/null).
  proc.stdout?.resume();
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<never>((_, reject) =>
    proc.once('exit', (code) => reject(new Error(`${name} exited (${code}) before answering`))),
  );
  // Readiness is the first 200 from /healthz (one attempt per 20 ms; this is a benchmark, not a test).
  const ready = (async () => {
    for (;;) {
      if (
        await fetch(`${url}/healthz`).then(
          (r) => r.ok,
          () => false,
        )
      )
        return;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  await Promise.race([ready, exited]);
  const signUp = await fetch(`${url}/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'bench-user', password: PASSWORD }),
  });
  if (signUp.status !== 201) throw new Error(`${name}: sign-up ${signUp.status} ${await signUp.text()}`);
  const login = await fetch(`${url}/token`, { method: 'POST', body: new URLSearchParams({ username: 'bench-user', password: PASSWORD }) });
  if (login.status !== 200) throw new Error(`${name}: login ${login.status} ${await login.text()}`);
  const { access_token: token } = (await login.json()) as { access_token: string };
  return { name, proc, url, dataDir, token };
}

async function load(
  server: Server,
  seconds: number,
): Promise<{ perSecond: number; p99Ms: number; cpuUsPerRequest: number; non200: number }> {
  const cpuBefore = cpuSeconds(server.proc.pid!);
  const result = await autocannon({
    url: `${server.url}/users/me`,
    connections: CONNECTIONS,
    duration: seconds,
    headers: { authorization: `Bearer ${server.token}` },
  });
  const cpu = cpuSeconds(server.proc.pid!) - cpuBefore;
  const ok = result.statusCodeStats['200']?.count ?? 0;
  return {
    perSecond: Math.round(ok / result.duration),
    p99Ms: result.latency.p99,
    cpuUsPerRequest: Number(((cpu * 1e6) / ok).toFixed(1)),
    non200: result.requests.total - ok + result.errors,
  };
}

const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const servers = [await start('A', resolve(positionals[0]!)), await start('B', resolve(positionals[1]!))];
try {
  for (const server of servers) await load(server, 1);
  const rounds: Record<string, Awaited<ReturnType<typeof load>>[]> = { A: [], B: [] };
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const server of servers) {
      const result = await load(server, SECONDS);
      if (result.non200 > 0) throw new Error(`${server.name}: ${result.non200} answers were not 200`);
      rounds[server.name]!.push(result);
    }
  }
  for (const [name, checkout] of [
    ['A', positionals[0]],
    ['B', positionals[1]],
  ] as const) {
    const r = rounds[name]!;
    console.log(
      `${name} (${checkout}): ${median(r.map((x) => x.perSecond))} req/s, ${median(r.map((x) => x.cpuUsPerRequest))} µs CPU/request, p99 ${median(r.map((x) => x.p99Ms))} ms (medians of ${ROUNDS} rounds)`,
    );
    console.log(`  rounds req/s: ${r.map((x) => x.perSecond).join(', ')}; µs CPU/request: ${r.map((x) => x.cpuUsPerRequest).join(', ')}`);
  }
  const ratio = (pick: (x: Awaited<ReturnType<typeof load>>) => number) =>
    (median(rounds.B!.map(pick)) / median(rounds.A!.map(pick))).toFixed(3);
  console.log(`B/A: req/s ${ratio((x) => x.perSecond)}, CPU per request ${ratio((x) => x.cpuUsPerRequest)}`);
  console.log(`per round B/A req/s: ${rounds.A!.map((a, i) => (rounds.B![i]!.perSecond / a.perSecond).toFixed(3)).join(', ')}`);
} finally {
  for (const server of servers) {
    const exited = new Promise((r) => server.proc.once('exit', r));
    server.proc.kill('SIGTERM');
    await exited;
    rmSync(server.dataDir, { recursive: true, force: true });
  }
}
