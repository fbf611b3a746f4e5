/**
 * `portcullis serve --workers 2`: real processes (a node:cluster primary and
 * its workers), real HTTP, one real SQLite file. Every batch of requests goes
 * over fresh connections, which the primary hands to the workers in turn, and
 * the pids in the request log lines show that both workers answered.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request, type IncomingMessage } from 'node:http';
import { createServer } from 'node:net';
import { cliEnv, jsonLines, makeDataDir, runCli, startServe, type ServeProcess } from '../helpers/cli.js';

const PASSWORD = 'many-hands-one-gate-9';
/** Documentation addresses (TEST-NET-3), believed through X-Forwarded-For from 127.0.0.1, one per scenario. */
const IP = { login: '203.0.113.10', limited: '203.0.113.20', inFlight: '203.0.113.30' } as const;

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** One request on a connection of its own (agent: false), so that consecutive requests reach different workers. */
function call(url: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${path}`,
      { method: init.method ?? 'GET', agent: false, headers: init.headers ?? {} },
      (res: IncomingMessage) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

function form(fields: Record<string, string>, ip: string): { method: string; headers: Record<string, string>; body: string } {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip },
    body: new URLSearchParams(fields).toString(),
  };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function requestLines(server: ServeProcess): Array<Record<string, unknown>> {
  return server.logLines().filter((line) => line.msg === 'request');
}

/**
 * Sends `count` requests one after the other, each on its own connection;
 * returns the answers and the pids of the workers that logged them.
 */
async function batch(server: ServeProcess, count: number, send: () => Promise<Answer>): Promise<{ answers: Answer[]; pids: Set<number> }> {
  const before = requestLines(server).length;
  const answers: Answer[] = [];
  for (let i = 0; i < count; i += 1) answers.push(await send());
  // A worker logs a request just after answering it.
  await waitFor(() => requestLines(server).length >= before + count, `${count} request log lines`);
  const pids = new Set(
    requestLines(server)
      .slice(before)
      .map((line) => Number(line.pid)),
  );
  return { answers, pids };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('portcullis serve with WORKERS=2', () => {
  const dataDir = makeDataDir();
  let server: ServeProcess;
  let workerPids: number[];

  before(async () => {
    server = await startServe(
      cliEnv(dataDir, {
        WORKERS: '2',
        // An asymmetric algorithm: the signing keys are made in the database at the first start.
        ALGORITHM: 'EdDSA',
        TRUSTED_PROXIES: '127.0.0.1',
        RATE_LIMIT_IP_BURST: '4',
        RATE_LIMIT_IP_PER_MINUTE: '1',
      }),
      30_000,
    );
    const listening = server.logLines().find((line) => typeof line.url === 'string');
    workerPids = (listening?.workerPids as number[] | undefined) ?? [];
  });
  after(async () => {
    await server?.stop('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('announces itself once and serves one port from two worker processes', async () => {
    const announcements = server.logLines().filter((line) => String(line.msg).startsWith('Portcullis listening'));
    assert.equal(announcements.length, 1);
    assert.equal(announcements[0]!.msg, `Portcullis listening on ${server.url} (2 workers)`);
    assert.equal(new Set(workerPids).size, 2, `worker pids ${JSON.stringify(workerPids)}`);
    assert.ok(!workerPids.includes(server.child.pid!), 'the primary serves no HTTP');
    const { answers, pids } = await batch(server, 6, () => call(server.url, '/healthz'));
    assert.deepEqual(
      answers.map((answer) => answer.status),
      [200, 200, 200, 200, 200, 200],
    );
    assert.deepEqual([...pids].sort(), [...workerPids].sort());
  });

  it('migrates and makes the signing keys in the primary, before any worker starts, and once', async () => {
    const lines = server.logLines();
    const prepared = lines.findIndex((line) => line.msg === 'database migrated and signing keys in place; starting the workers');
    const firstWorkerLine = lines.findIndex((line) => line.worker !== undefined);
    assert.ok(prepared >= 0 && prepared < firstWorkerLine, `prepared at line ${prepared}, first worker line ${firstWorkerLine}`);
    assert.equal(lines[prepared]!.pid, server.child.pid);
    const { answers, pids } = await batch(server, 4, () => call(server.url, '/.well-known/jwks.json'));
    assert.equal(pids.size, 2);
    assert.equal(new Set(answers.map((answer) => answer.body)).size, 1, 'the workers publish the same keys');
    // One current key and one next key: not one current key per worker.
    assert.equal((JSON.parse(answers[0]!.body) as { keys: unknown[] }).keys.length, 2);
  });

  it('accepts a token issued by one worker on every worker, and refuses it on all of them right after a logout', async () => {
    const signUp = await call(server.url, '/users', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': IP.login },
      body: JSON.stringify({ username: 'alice', password: PASSWORD }),
    });
    assert.equal(signUp.status, 201, signUp.body);
    const login = await call(server.url, '/token', form({ username: 'alice', password: PASSWORD }, IP.login));
    assert.equal(login.status, 200, login.body);
    const bearer = { authorization: `Bearer ${(JSON.parse(login.body) as { access_token: string }).access_token}` };

    const live = await batch(server, 6, () => call(server.url, '/users/me', { headers: bearer }));
    assert.deepEqual(
      live.answers.map((answer) => answer.status),
      [200, 200, 200, 200, 200, 200],
    );
    assert.equal(live.pids.size, 2, 'both workers accepted the token (and cached its session)');

    const logout = await call(server.url, '/logout', { method: 'POST', headers: bearer });
    assert.equal(logout.status, 204);
    const ended = await batch(server, 6, () => call(server.url, '/users/me', { headers: bearer }));
    assert.deepEqual(
      ended.answers.map((answer) => answer.status),
      [401, 401, 401, 401, 401, 401],
    );
    assert.equal(ended.pids.size, 2, 'both workers refused it');
  });

  it('counts a rate limit over all workers: a burst of 4 lets exactly 4 requests through', async () => {
    const { answers, pids } = await batch(server, 10, () => call(server.url, '/revoke', form({ token: 'not-a-token' }, IP.limited)));
    const statuses = answers.map((answer) => answer.status);
    assert.equal(statuses.filter((status) => status === 200).length, 4, statuses.join(' '));
    assert.equal(statuses.filter((status) => status === 429).length, 6, statuses.join(' '));
    assert.equal(pids.size, 2);
  });

  it('replaces a worker killed with SIGKILL, and keeps serving and counting', async () => {
    const [victim, survivor] = workerPids as [number, number];
    process.kill(victim, 'SIGKILL');
    await waitFor(() => server.logLines().some((line) => line.msg === 'replacement worker ready'), 'the replacement worker', 15_000);
    const died = server.logLines().find((line) => line.msg === 'worker died unexpectedly; replacing it');
    assert.equal(died?.workerPid, victim);
    assert.equal(died?.signal, 'SIGKILL');
    const replacement = Number(server.logLines().find((line) => line.msg === 'replacement worker started')?.workerPid);
    assert.ok(isAlive(replacement));

    const { answers, pids } = await batch(server, 4, () => call(server.url, '/healthz'));
    assert.deepEqual(
      answers.map((answer) => answer.status),
      [200, 200, 200, 200],
    );
    assert.deepEqual([...pids].sort(), [survivor, replacement].sort());
    // The buckets live in the primary, so the worker's death lost no count.
    const limited = await batch(server, 2, () => call(server.url, '/revoke', form({ token: 'not-a-token' }, IP.limited)));
    assert.deepEqual(
      limited.answers.map((answer) => answer.status),
      [429, 429],
    );
    workerPids = [survivor, replacement];
  });

  it('backs off while replacements keep failing to start, logging each, and recovers', async () => {
    // Another secret key in the data folder: a new worker cannot open the signing keys, so it cannot start.
    const keyFile = join(dataDir, 'secret.key');
    const key = readFileSync(keyFile, 'utf8');
    writeFileSync(keyFile, `${'ab'.repeat(32)}\n`);
    const deaths = () => server.logLines().filter((line) => line.msg === 'worker died unexpectedly; replacing it');
    const failures = () => server.logLines().filter((line) => line.msg === 'a replacement worker could not start');
    const readyBefore = server.logLines().filter((line) => line.msg === 'replacement worker ready').length;
    const deathsBefore = deaths().length;
    process.kill(workerPids[0]!, 'SIGKILL');
    try {
      // The kill, then two replacements that could not start.
      await waitFor(() => deaths().length >= deathsBefore + 3, 'two failed replacements', 20_000);
    } finally {
      writeFileSync(keyFile, key);
    }
    assert.match(String(failures()[0]!.error), /cannot be decrypted/);
    const delays = deaths()
      .slice(deathsBefore)
      .map((line) => Number(line.restartInMs));
    assert.ok(delays.length >= 3, `delays ${delays.join(', ')}`);
    for (let i = 1; i < delays.length; i += 1) assert.equal(delays[i], 2 * delays[i - 1]!, `delays ${delays.join(', ')}`);
    await waitFor(
      () => server.logLines().filter((line) => line.msg === 'replacement worker ready').length > readyBefore,
      'a replacement that starts',
      20_000,
    );
    const { answers, pids } = await batch(server, 4, () => call(server.url, '/healthz'));
    assert.deepEqual(
      answers.map((answer) => answer.status),
      [200, 200, 200, 200],
    );
    assert.equal(pids.size, 2);
  });

  it('on SIGTERM stops every worker, answers a login in flight, and exits 0', async () => {
    const body = new URLSearchParams({ username: 'alice', password: PASSWORD }).toString();
    // Expect: 100-continue: once the server says "continue", the request is in a worker's hands.
    const req = request(`${server.url}/token`, {
      method: 'POST',
      agent: false,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': String(Buffer.byteLength(body)),
        'x-forwarded-for': IP.inFlight,
        expect: '100-continue',
      },
    });
    const answered = new Promise<Answer>((resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
    });
    await new Promise<void>((resolve) => {
      req.on('continue', resolve);
      req.flushHeaders();
    });
    server.child.kill('SIGTERM');
    await waitFor(
      () => server.logLines().filter((line) => String(line.msg).startsWith('shutting down: no new connections')).length === 2,
      'both workers shutting down',
    );
    req.end(body);
    const response = await answered;
    assert.equal(response.status, 200, response.body);
    const exit = await server.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.equal(server.logLines().at(-1)?.msg, 'stopped', 'the primary stops last');
    const everyWorker = new Set(
      server
        .logLines()
        .filter((line) => line.worker !== undefined)
        .map((line) => Number(line.pid)),
    );
    assert.ok(everyWorker.size >= 4, 'the workers of the earlier tests are all there');
    for (const pid of everyWorker) assert.equal(isAlive(pid), false, `worker ${pid} is still running`);
  });
});

describe('portcullis serve --workers: start-up failures', () => {
  const dataDir = makeDataDir();
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('exits 2 with the error when the workers cannot listen, instead of replacing them', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = String((blocker.address() as { port: number }).port);
    try {
      const result = await runCli(['serve', '--workers', '2'], {
        env: cliEnv(dataDir, { HOST: '127.0.0.1', PORT: port, LOG_LEVEL: 'info' }),
      });
      assert.equal(result.code, 2, result.stderr);
      // Said once, plainly, for both workers; their stacks only at LOG_LEVEL=debug.
      assert.equal(result.stderr, `portcullis: cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)\n`);
      assert.doesNotMatch(result.stdout, /replacement worker|Portcullis listening|"stack"|"level":[56]0/);
      const debug = await runCli(['serve', '--workers', '2'], {
        env: cliEnv(dataDir, { HOST: '127.0.0.1', PORT: port, LOG_LEVEL: 'debug' }),
      });
      assert.equal(debug.code, 2, debug.stderr);
      assert.equal(debug.stderr, result.stderr);
      // Each worker that got as far as listening logs its stack (one stopped before may not have).
      const stacks = jsonLines(debug.stdout).filter((line) => typeof (line.err as { stack?: unknown } | undefined)?.stack === 'string');
      assert.ok(stacks.length >= 1 && stacks.length <= 2, debug.stdout);
      assert.ok(
        stacks.every((line) => line.level === 20 && line.msg === `cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)`),
        debug.stdout,
      );
    } finally {
      blocker.close();
    }
  });

  it('refuses --workers 0 as a usage error (exit 1)', async () => {
    const result = await runCli(['serve', '--workers', '0'], { env: cliEnv(dataDir) });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--workers must be an integer from 1 to 256/);
  });
});
