/**
 * bench/revocations.ts — the revocation feed: how soon is a logout refused at a resource server
 * that verifies tokens itself, and what does the feed cost?
 *
 * Starts the real server (startServer, as `portcullis serve` does, one process, a temp SQLite
 * file, on 127.0.0.1) in a child process, with a service client, and in this process a verifier
 * (portcullis/verifier with `revocations`) following its feed.
 *
 *   1. delay: K times, a user logs in, the verifier accepts the token, and after a random pause
 *      (uniform within one interval, so logouts fall at any phase of the polling) the user logs
 *      out; from the logout's answer, the verifier's syncs are awaited (nextSync) until it refuses
 *      the token. The delay is logout answered → the end of that sync (an upper bound: a sync
 *      already in flight at the logout that happens to carry it is not counted). With intervalMs
 *      2000 (the default) and 250.
 *   2. cost, at N sessions revoked within the token lifetime (N = 1k, 10k, 50k; made in the server
 *      process through its SessionService and SessionStore, 1000 sessions a revoke-all):
 *      - a full sync (no cursor, as a verifier's first one; pages of 10,000): bytes, requests, the
 *        median wall time and the server process's CPU time per sync;
 *      - an idle poll (a cursor, nothing new, what every verifier sends every intervalMs): median
 *        wall time and the server's CPU time per poll, over R sequential polls.
 *   3. verifier memory: heap growth of a fresh verifier after its first (full) sync of N entries,
 *      after gc, per entry, for N of 10k and more (below, the heap's noise swamps it; needs
 *      --expose-gc, which `npm run bench:revocations` passes).
 * Wall times include this process's side (fetch, JSON parse); CPU times are the server's alone
 * (process.cpuUsage() asked of it before and after).
 *
 * The last line of output is `RESULT {json}`; the JSON is also written to
 * bench/results/<date>-revocations.json (with --short: to a temp folder, whose path is printed).
 *
 * Run:   npm run bench:revocations              (~1 min)
 *        npm run bench:revocations -- --short   (a smoke check; numbers are not meaningful)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { ChildLines } from './child-lines.js';
import { fileURLToPath } from 'node:url';
import { UNTHROTTLED } from '../test/helpers/unthrottled.js';
import { createVerifier, RevokedTokenError, type Verifier } from '../src/verifier/index.js';

const SHORT = process.argv.includes('--short');
const ROLE = process.argv.find((arg) => arg.startsWith('--role='))?.slice('--role='.length);
const SELF = fileURLToPath(import.meta.url);
const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
const SECRET_KEY = 'bench-revocations-secret-key-0123456789abcdef';
const ISSUER = 'http://portcullis.bench';
const PASSWORD = 'bench-password-0123';

const PLAN = SHORT
  ? { delays: [{ intervalMs: 250, logouts: 3 }], sizes: [1000], fullSyncs: 3, idlePolls: 50 }
  : {
      delays: [
        { intervalMs: 2000, logouts: 10 },
        { intervalMs: 250, logouts: 20 },
      ],
      sizes: [1000, 10_000, 50_000],
      fullSyncs: 10,
      idlePolls: 500,
    };
const BATCH = 1000;

const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

// ---------------------------------------------------------------- role: server
async function serveRole(): Promise<void> {
  const { loadConfig } = await import('../src/server/config.js');
  const { startServer } = await import('../src/server/start-server.js');
  const { SYSTEM } = await import('../src/core/action-context.js');
  const config = loadConfig(process.env);
  const server = await startServer(config);
  const { portcullis } = server;
  const created = await portcullis.clients.create('resource-server', [], 'bench');
  await portcullis.users.create({ username: 'alice', password: PASSWORD });
  const bulk = await portcullis.users.create({ username: 'bulk', password: PASSWORD });
  console.log(`READY ${JSON.stringify({ url: server.url, clientId: created.client.id, clientSecret: created.secret })}`);
  createInterface({ input: process.stdin }).on('line', (line) => {
    const [command, argument] = line.split(' ');
    if (command === 'cpu') {
      const { user, system } = process.cpuUsage();
      console.log(`CPU ${user + system}`);
    } else if (command === 'revoke') {
      void (async () => {
        // Sessions opened and revoked as logins and a revoke-all do it, BATCH at a time.
        let left = Number(argument);
        while (left > 0) {
          const n = Math.min(BATCH, left);
          // Opened together: SQLite's group commit makes them a few commits rather than n.
          await Promise.all(Array.from({ length: n }, () => portcullis.sessions.open(bulk, [], null, SYSTEM)));
          await portcullis.sessions.revokeAll(bulk, 'revoked_by_admin', SYSTEM);
          left -= n;
        }
        console.log('REVOKED');
      })();
    } else if (command === 'stop') {
      void server.close().then(() => process.exit(0));
    }
  });
}

// ---------------------------------------------------------------- orchestration
class Child {
  private readonly lines: ChildLines;

  constructor(private readonly proc: ChildProcess) {
    this.lines = new ChildLines(proc);
  }

  next(prefix: string, timeoutMs?: number): Promise<string> {
    return this.lines.next(prefix, timeoutMs);
  }

  send(line: string): void {
    this.proc.stdin!.write(`${line}\n`);
  }

  async cpuMicros(): Promise<number> {
    const answer = this.next('CPU');
    this.send('cpu');
    return Number(await answer);
  }
}

interface Server {
  readonly url: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

function follow(server: Server, intervalMs: number): Verifier {
  return createVerifier({
    issuer: ISSUER,
    secret: SECRET_KEY,
    revocations: {
      url: `${server.url}/revocations`,
      clientId: server.clientId,
      clientSecret: server.clientSecret,
      intervalMs,
      maxStalenessSeconds: Math.max(30, (2 * intervalMs) / 1000),
      log: () => undefined,
    },
  });
}

async function login(server: Server): Promise<string> {
  const response = await fetch(`${server.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: 'alice', password: PASSWORD }).toString(),
  });
  if (response.status !== 200) throw new Error(`login: HTTP ${response.status}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

async function measureDelay(server: Server, intervalMs: number, logouts: number) {
  const verifier = follow(server, intervalMs);
  const delays: number[] = [];
  const syncsWaited: number[] = [];
  try {
    for (let i = 0; i < logouts; i += 1) {
      const token = await login(server);
      await verifier.verify(token);
      // Log out at a random point of the verifier's interval, as users do (otherwise every logout
      // would fall at the same phase of it, right after the sync that ended the previous round).
      await new Promise((resolve) => setTimeout(resolve, Math.random() * intervalMs));
      const response = await fetch(`${server.url}/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      if (response.status !== 204) throw new Error(`logout: HTTP ${response.status}`);
      const loggedOut = performance.now();
      for (let syncs = 1; ; syncs += 1) {
        const result = await verifier.revocations!.nextSync();
        if (!result.ok) throw result.error ?? new Error('sync failed');
        const refused = await verifier.verify(token).then(
          () => false,
          (error: unknown) => error instanceof RevokedTokenError,
        );
        if (refused) {
          delays.push(performance.now() - loggedOut);
          syncsWaited.push(syncs);
          break;
        }
        if (syncs > 3) throw new Error('the logout never reached the verifier');
      }
    }
  } finally {
    await verifier.close();
  }
  return {
    intervalMs,
    logouts,
    p50Ms: round(percentile(delays, 50)),
    p90Ms: round(percentile(delays, 90)),
    maxMs: round(Math.max(...delays)),
    syncsWaitedMax: Math.max(...syncsWaited),
  };
}

const feedHeaders = (server: Server) => ({
  authorization: `Basic ${btoa(`${encodeURIComponent(server.clientId)}:${encodeURIComponent(server.clientSecret)}`)}`,
});

/** Every page from `since` on; the bytes and requests it took, and the cursor at the end. */
async function readAll(server: Server, since: string | undefined) {
  let cursor = since;
  let bytes = 0;
  let requests = 0;
  let entries = 0;
  for (;;) {
    const response = await fetch(`${server.url}/revocations${cursor === undefined ? '' : `?since=${cursor}`}`, {
      headers: feedHeaders(server),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`feed: HTTP ${response.status} ${text}`);
    bytes += Buffer.byteLength(text);
    requests += 1;
    const page = JSON.parse(text) as { cursor: string; more: boolean; sids: string[]; versions: unknown[] };
    entries += page.sids.length + page.versions.length;
    cursor = page.cursor;
    if (!page.more) return { bytes, requests, entries, cursor };
  }
}

async function measureCost(server: Server, child: Child, n: number) {
  const fullTimes: number[] = [];
  let full = await readAll(server, undefined);
  const cpuBeforeFull = await child.cpuMicros();
  for (let i = 0; i < PLAN.fullSyncs; i += 1) {
    const start = performance.now();
    full = await readAll(server, undefined);
    fullTimes.push(performance.now() - start);
  }
  const cpuFull = ((await child.cpuMicros()) - cpuBeforeFull) / PLAN.fullSyncs;

  const idleTimes: number[] = [];
  const cpuBeforeIdle = await child.cpuMicros();
  let idleBytes = 0;
  for (let i = 0; i < PLAN.idlePolls; i += 1) {
    const start = performance.now();
    const response = await fetch(`${server.url}/revocations?since=${full.cursor}`, { headers: feedHeaders(server) });
    idleBytes = Buffer.byteLength(await response.text());
    idleTimes.push(performance.now() - start);
  }
  const cpuIdle = ((await child.cpuMicros()) - cpuBeforeIdle) / PLAN.idlePolls;

  const memory = await measureMemory(server, n);
  return {
    revokedSessions: n,
    fullSync: {
      entries: full.entries,
      bytes: full.bytes,
      requests: full.requests,
      p50Ms: round(percentile(fullTimes, 50)),
      serverCpuMs: round(cpuFull / 1000),
    },
    idlePoll: { bytes: idleBytes, p50Ms: round(percentile(idleTimes, 50), 3), serverCpuMs: round(cpuIdle / 1000, 3) },
    verifierBytesPerEntry: memory,
  };
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Below this many entries the growth is lost in the heap's own noise (±100 KB): not reported. */
const MEMORY_MIN_ENTRIES = 10_000;

async function measureMemory(server: Server, n: number): Promise<number | null> {
  if (gc === undefined || n < MEMORY_MIN_ENTRIES) return null;
  // Once before, so that what any first sync allocates for good (fetch's connection pool, compiled code) is not counted.
  const warmUp = follow(server, 600_000);
  await warmUp.revocations!.sync();
  await warmUp.close();
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const verifier = follow(server, 600_000);
  const result = await verifier.revocations!.sync();
  if (!result.ok) throw result.error ?? new Error('sync failed');
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  const entries = verifier.revocations!.stats().entries;
  await verifier.close();
  if (entries < n) throw new Error(`the verifier holds ${entries} entries, expected ${n}`);
  return round((after - before) / entries, 1);
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'portcullis-bench-revocations-'));
  const proc = spawn(process.execPath, ['--import', 'tsx', SELF, '--role=server'], {
    env: {
      ...process.env,
      ...UNTHROTTLED,
      SECRET_KEY,
      ISSUER,
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: dataDir,
      WORKERS: '1',
      LOG_LEVEL: 'warn',
      NODE_OPTIONS: '',
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const child = new Child(proc);
  try {
    const server = JSON.parse(await child.next('READY')) as Server;
    const delays = [];
    for (const { intervalMs, logouts } of PLAN.delays) {
      const delay = await measureDelay(server, intervalMs, logouts);
      delays.push(delay);
      console.log(
        `delay, intervalMs ${intervalMs}: p50 ${delay.p50Ms} ms, p90 ${delay.p90Ms} ms, max ${delay.maxMs} ms over ${logouts} logouts`,
      );
    }
    const costs = [];
    let revoked = (await readAll(server, undefined)).entries;
    for (const n of PLAN.sizes) {
      const done = child.next('REVOKED', 600_000);
      child.send(`revoke ${n - revoked}`);
      await done;
      revoked = n;
      const cost = await measureCost(server, child, (await readAll(server, undefined)).entries);
      costs.push(cost);
      console.log(
        `N=${cost.fullSync.entries}: full sync ${cost.fullSync.bytes} B in ${cost.fullSync.requests} requests, ` +
          `${cost.fullSync.p50Ms} ms, server CPU ${cost.fullSync.serverCpuMs} ms; idle poll ${cost.idlePoll.bytes} B, ` +
          `${cost.idlePoll.p50Ms} ms, server CPU ${cost.idlePoll.serverCpuMs} ms; verifier ${cost.verifierBytesPerEntry ?? '(not measured)'} B/entry`,
      );
    }
    const result = {
      date: new Date().toISOString(),
      short: SHORT,
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      database: 'sqlite',
      delays,
      costs,
    };
    const dir = SHORT ? mkdtempSync(join(os.tmpdir(), 'portcullis-bench-results-')) : RESULTS_DIR;
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${result.date.slice(0, 10)}-revocations.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`wrote ${file}`);
    console.log(`RESULT ${JSON.stringify(result)}`);
  } finally {
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    child.send('stop');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (ROLE === 'server') await serveRole();
else await main();
