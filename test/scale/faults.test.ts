/**
 * The scale-out issue's fault behaviour, with real `portcullis serve`
 * processes over real HTTP. The machine's PostgreSQL and Redis are shared
 * with other tests, so they are never restarted: a TCP fault proxy
 * (test/helpers/tcp-proxy.ts) sits between an instance and them and cuts
 * the connections instead (resets, as a restart or a dropped link does), or
 * stalls them (nothing answers, nothing is reset, as in a partition).
 *
 * X reaches PostgreSQL through the proxy; Y reaches it directly, so it can
 * change things while X is cut off. Both reach Redis through a second proxy.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { cliEnv, makeDataDir, startServe, type CliEnv, type ServeProcess } from '../helpers/cli.js';
import { changeListenerCount, createTestDatabase, postgresSkipReason, TEST_POSTGRES_URL, type TestDatabase } from '../helpers/postgres.js';
import { sleep, startTogether, uniqueName, type Tokens } from '../helpers/scale.js';
import { redisSkipReason, TEST_REDIS_URL } from '../helpers/redis.js';
import { randomClientIp } from '../helpers/rate-limits.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const PASSWORD = 'faults-and-failovers-4';
/** Not test/helpers/server.ts's: that module loads the whole server in-process, and these tests only spawn it. */
const SECRET_KEY = 'scale-test-secret-key-that-is-long-enough-0123';
const CONNECT_TIMEOUT_MS = 500;
const STATEMENT_TIMEOUT_MS = 1500;
/** The longest any answer may take, whatever is down: the connect timeout, plus a hash and a busy 2-core machine. */
const LATENCY_BOUND_MS = CONNECT_TIMEOUT_MS + 2000;
/** Without Redis nothing waits for a timeout: a hash, and slack. */
const REDIS_DOWN_LATENCY_BOUND_MS = 2000;
/** While PostgreSQL does not answer at all, a query waits for the client-side bound: the statement timeout plus a second. */
const STALL_LATENCY_BOUND_MS = STATEMENT_TIMEOUT_MS + 1000 + 1500;
const PROPAGATION_BOUND_MS = 1000;
const STORAGE_UNAVAILABLE = 'Service temporarily unavailable';

const postgresSkip = await postgresSkipReason();
const skip = postgresSkip ?? (await redisSkipReason());

/**
 * Every request comes "from" an address of its own (TRUSTED_PROXIES=127.0.0.1 believes
 * X-Forwarded-For), so the small per-address bucket only trips where a test means it to.
 */
function request(
  server: ServeProcess,
  path: string,
  init: { method?: string; form?: Record<string, string>; json?: unknown; token?: string; ip?: string; timeoutMs?: number } = {},
): Promise<Response> {
  const headers: Record<string, string> = { 'x-forwarded-for': init.ip ?? randomClientIp() };
  let body: string | undefined;
  if (init.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(init.form).toString();
  } else if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  }
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  return server.fetch(path, {
    method: init.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(init.timeoutMs ?? 10_000),
  });
}

async function signUp(server: ServeProcess, username: string): Promise<void> {
  const response = await request(server, '/users', { json: { username, password: PASSWORD } });
  const text = await response.text();
  assert.equal(response.status, 201, `sign-up of ${username}: ${response.status} ${text}`);
}

async function login(server: ServeProcess, username: string): Promise<Tokens> {
  const response = await request(server, '/token', { form: { username, password: PASSWORD } });
  const text = await response.text();
  assert.equal(response.status, 200, `login of ${username}: ${response.status} ${text}`);
  return JSON.parse(text) as Tokens;
}

async function meStatus(server: ServeProcess, accessToken: string): Promise<number> {
  const response = await request(server, '/users/me', { token: accessToken });
  await response.arrayBuffer();
  return response.status;
}

async function logout(server: ServeProcess, accessToken: string): Promise<void> {
  const response = await request(server, '/logout', { method: 'POST', token: accessToken });
  await response.arrayBuffer();
  assert.equal(response.status, 204);
}

/** Polls until GET /users/me answers 401; fails on a 200 after `refuseFromMs` and after `timeoutMs`. Returns the time taken. */
async function msUntilRefused(server: ServeProcess, accessToken: string, timeoutMs = 5000): Promise<number> {
  const started = performance.now();
  let last = 0;
  while (performance.now() - started < timeoutMs) {
    last = await meStatus(server, accessToken);
    if (last === 401) return performance.now() - started;
    await sleep(10);
  }
  assert.fail(`${server.url} still answered ${last} after ${timeoutMs} ms`);
}

async function waitUntil(condition: () => Promise<boolean>, what: string, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (!(await condition())) {
    if (performance.now() - started > timeoutMs) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
  return performance.now() - started;
}

const listenerCount = changeListenerCount;

interface Sample {
  readonly op: string;
  readonly startedAt: number;
  readonly ms: number;
  /** 0: the request failed (connection error); -1: no answer within the hang bound. */
  readonly status: number;
  readonly detail: string | undefined;
}

/** Generous: only a hung test ends here; how long the load takes is never what a test checks. */
const LOAD_WAIT_LIMIT_MS = 60_000;

/**
 * A steady, bounded load: `workers` loops, each running `ops` in turn with a pause between requests.
 * A test waits for what the load has done (`until`), not for a time: a loaded machine sends fewer
 * requests a second, and then the phase lasts longer.
 */
function startLoad(ops: ReadonlyArray<readonly [string, () => Promise<Response>]>, workers: number, pauseMs: number) {
  const samples: Sample[] = [];
  let running = true;
  let waiters: Array<{ readonly done: (samples: readonly Sample[]) => boolean; readonly resolve: () => void }> = [];
  const loop = async (offset: number) => {
    for (let i = offset; running; i += 1) {
      const [op, send] = ops[i % ops.length]!;
      const startedAt = performance.now();
      let status: number;
      let detail: string | undefined;
      try {
        const response = await send();
        status = response.status;
        const text = await response.text();
        if (status >= 500) detail = (JSON.parse(text) as { detail?: string }).detail;
      } catch (error) {
        status = error instanceof Error && error.name === 'TimeoutError' ? -1 : 0;
      }
      samples.push({ op, startedAt, ms: performance.now() - startedAt, status, detail });
      waiters = waiters.filter((waiter) => !(waiter.done(samples) && (waiter.resolve(), true)));
      await sleep(pauseMs);
    }
  };
  const loops = Array.from({ length: workers }, (_, i) => loop(i));
  return {
    samples,
    /** Resolves once the answers so far satisfy `done` (checked after each one). */
    until(done: (samples: readonly Sample[]) => boolean, what: string): Promise<void> {
      if (done(samples)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no ${what} within ${LOAD_WAIT_LIMIT_MS} ms: ${describeSamples(samples)}`)),
          LOAD_WAIT_LIMIT_MS,
        );
        waiters.push({ done, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
    async stop(): Promise<Sample[]> {
      running = false;
      await Promise.all(loops);
      return samples;
    },
  };
}

/** A crash (an unhandled error on a lost connection) would otherwise show only as refused connections later. */
function assertAlive(...servers: ServeProcess[]): void {
  for (const server of servers) {
    assert.ok(
      server.child.exitCode === null && server.child.signalCode === null,
      `${server.url} died:\n${server.output().stderr.slice(-3000)}`,
    );
  }
}

/** At least `count` answers, and one for each of `ops`. */
function coverage(samples: readonly Sample[], ops: readonly string[], count: number): boolean {
  return samples.length >= count && ops.every((op) => samples.some((s) => s.op === op));
}

function describeSamples(samples: readonly Sample[]): string {
  return samples.map((s) => `${s.op}@${s.startedAt.toFixed(0)}+${s.ms.toFixed(0)}=${s.status}`).join(' ');
}

describe('portcullis serve when PostgreSQL or Redis goes away', { skip }, () => {
  let database: TestDatabase;
  let postgresProxy: TcpProxy;
  let redisProxy: TcpProxy;
  let x: ServeProcess;
  let y: ServeProcess;
  const dataDirs: string[] = [];

  before(async () => {
    database = await createTestDatabase();
    postgresProxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(TEST_POSTGRES_URL).port || 5432) });
    redisProxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(TEST_REDIS_URL).port || 6379) });
    const env: CliEnv = {
      SECRET_KEY,
      ISSUER: 'http://portcullis.faults.test',
      REDIS_URL: redisProxy.via(TEST_REDIS_URL),
      REDIS_KEY_PREFIX: `${uniqueName('scale-faults-')}:`,
      DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
      DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
      TRUSTED_PROXIES: '127.0.0.1',
      // Three per address, then one every ten seconds: a quick fourth is refused however slow the machine.
      // Every request of the load comes from an address of its own.
      RATE_LIMIT_IP_BURST: '3',
      RATE_LIMIT_IP_PER_MINUTE: '6',
      RATE_LIMIT_ACCOUNT_BURST: '100000',
      RATE_LIMIT_ACCOUNT_PER_MINUTE: '1000000',
      SPRAY_ACCOUNTS_PER_HOUR: '1000000',
    };
    const start = (databaseUrl: string) => {
      const dataDir = makeDataDir('portcullis-faults-');
      dataDirs.push(dataDir);
      return startServe(cliEnv(dataDir, { ...env, DATABASE_URL: databaseUrl }));
    };
    // Together: they migrate the empty database under the migration lock, X through the proxy.
    [x, y] = (await startTogether([() => start(postgresProxy.via(database.url)), () => start(database.url)])) as [
      ServeProcess,
      ServeProcess,
    ];
    await waitUntil(async () => (await listenerCount(database.name)) === 2, 'both change listeners', 10_000);
  });

  after(async () => {
    await Promise.all([x, y].map((server) => server?.stop('SIGKILL')));
    await Promise.all([postgresProxy?.close(), redisProxy?.close()]);
    await database?.drop();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 fast while PostgreSQL is cut off under load, is not ready, and recovers by itself', async (t) => {
    const regular = uniqueName('steady');
    await signUp(x, regular);
    const cached = await login(x, regular);
    const doomed = await login(y, regular);
    // X's cache holds both sessions before the cut.
    for (let i = 0; i < 2; i += 1) {
      assert.equal(await meStatus(x, cached.access_token), 200);
      assert.equal(await meStatus(x, doomed.access_token), 200);
    }

    const bound = { timeoutMs: LATENCY_BOUND_MS + 2000 };
    const load = startLoad(
      [
        ['me', () => request(x, '/users/me', { token: cached.access_token, ...bound })],
        ['login', () => request(x, '/token', { form: { username: regular, password: PASSWORD }, ...bound })],
        ['me', () => request(x, '/users/me', { token: cached.access_token, ...bound })],
        ['sign-up', () => request(x, '/users', { json: { username: uniqueName('load'), password: PASSWORD }, ...bound })],
        ['readyz', () => request(x, '/readyz', bound)],
      ],
      2,
      40,
    );
    let cutAt = 0;
    let restoredAt = 0;
    let recoveredAt = 0;
    let recoveryMs = 0;
    let staleAnswers = 0;
    let samples: Sample[];
    const ops = ['me', 'login', 'sign-up', 'readyz'];
    try {
      await load.until((answered) => coverage(answered, ops, 5), 'answers before the cut');
      // Some queries are surely in flight when the connections drop: the proxy holds their bytes first.
      postgresProxy.stall();
      const inFlight = [
        request(x, '/readyz', bound),
        request(x, '/token', { form: { username: regular, password: PASSWORD }, ...bound }),
        request(x, '/token', { form: { grant_type: 'refresh_token', refresh_token: cached.refresh_token }, ...bound }),
      ].map((sent) => sent.then(async (response) => ({ status: response.status, body: await response.text(), at: performance.now() })));
      await sleep(300);
      cutAt = performance.now();
      postgresProxy.cut();
      // Those get 503 as soon as their connections drop (the process survives a connection lost under a query).
      for (const answer of await Promise.all(inFlight)) {
        assert.equal(answer.status, 503, answer.body);
        assert.equal((JSON.parse(answer.body) as { detail: string }).detail, STORAGE_UNAVAILABLE);
        assert.ok(answer.at - cutAt < LATENCY_BOUND_MS, `answered ${(answer.at - cutAt).toFixed(0)} ms after the cut`);
      }
      await sleep(300);
      // On the other instance, during the cut: the session X holds in its cache ends.
      await logout(y, doomed.access_token);
      // The cut lasts until the load has seen it on every route, five answers at least.
      await load.until(
        (answered) =>
          coverage(
            answered.filter((s) => s.startedAt > cutAt + 100),
            ops,
            5,
          ),
        'answers during the cut',
      );
      restoredAt = performance.now();
      postgresProxy.restore();

      // Recovery: ready again and answering, with no restart and nothing done to it.
      recoveryMs = await waitUntil(
        async () => {
          const ready = await request(x, '/readyz');
          await ready.arrayBuffer();
          const doomedStatus = await meStatus(x, doomed.access_token);
          if (doomedStatus === 200) staleAnswers += 1;
          return ready.status === 200 && doomedStatus === 401 && (await meStatus(x, cached.access_token)) === 200;
        },
        'X to be ready again',
        8000,
      );
      recoveredAt = performance.now();
      await load.until(
        (answered) =>
          coverage(
            answered.filter((s) => s.startedAt >= recoveredAt),
            ops,
            5,
          ),
        'answers after the recovery',
      );
    } finally {
      // Whatever failed above, the next tests get a working proxy and no load left running.
      postgresProxy.restore();
      samples = await load.stop();
    }

    assert.ok(recoveryMs < 5000, `recovered ${recoveryMs.toFixed(0)} ms after the restore`);
    assert.equal(staleAnswers, 0, 'a session ended during the cut is never answered as valid after it');
    const failed = samples.filter((s) => s.status <= 0);
    assert.deepEqual(failed, [], `no request failed or hung: ${describeSamples(failed)}`);
    const errors = samples.filter((s) => s.status >= 500 && s.status !== 503);
    assert.deepEqual(errors, [], `no 5xx but 503: ${describeSamples(errors)}`);
    const slowest = Math.max(...samples.map((s) => s.ms));
    assert.ok(slowest < LATENCY_BOUND_MS, `slowest answer ${slowest.toFixed(0)} ms (bound ${LATENCY_BOUND_MS})`);

    const duringCut = samples.filter((s) => s.startedAt > cutAt + 100 && s.startedAt + s.ms < restoredAt);
    assert.ok(duringCut.length >= 5, `requests during the cut: ${describeSamples(duringCut)}`);
    const notUnavailable = duringCut.filter((s) => s.status !== 503 || s.detail !== STORAGE_UNAVAILABLE);
    assert.deepEqual(
      notUnavailable,
      [],
      `every request during the cut gets 503 "${STORAGE_UNAVAILABLE}": ${describeSamples(notUnavailable)}`,
    );
    assert.ok(
      duringCut.some((s) => s.op === 'readyz'),
      'readiness was asked during the cut (and said 503)',
    );

    const afterRecovery = samples.filter((s) => s.startedAt >= recoveredAt);
    assert.ok(afterRecovery.length >= 5, `requests after the recovery: ${describeSamples(afterRecovery)}`);
    const expected: Record<string, number> = { me: 200, login: 200, 'sign-up': 201, readyz: 200 };
    const wrong = afterRecovery.filter((s) => s.status !== expected[s.op]);
    assert.deepEqual(wrong, [], `after the recovery everything succeeds: ${describeSamples(wrong)}`);
    assert.equal(await meStatus(x, doomed.access_token), 401);
    assertAlive(x, y);
    t.diagnostic(
      `${samples.length} requests; ${duringCut.length} during the cut, all 503; slowest ${slowest.toFixed(0)} ms; ready ${recoveryMs.toFixed(0)} ms after the restore`,
    );
  });

  it('honours a logout made elsewhere while only the change listener is cut, and after it listens again', async () => {
    const username = uniqueName('listener');
    await signUp(y, username);
    const kept = await login(y, username);
    const ended = await login(y, username);
    for (let i = 0; i < 2; i += 1) {
      assert.equal(await meStatus(x, kept.access_token), 200);
      assert.equal(await meStatus(x, ended.access_token), 200);
    }
    // Only X's listening connection: its startup message names application_name=portcullis-changes.
    postgresProxy.cut((hello) => hello.includes('portcullis-changes'));
    try {
      await waitUntil(async () => (await listenerCount(database.name)) === 1, "X's listener to drop", 5000);
      // The pool still works: X answers from the database while it cannot hear changes.
      assert.equal(await meStatus(x, kept.access_token), 200);
      await logout(y, ended.access_token);
      assert.equal(await meStatus(x, ended.access_token), 401, 'refused at once: with the listener down, X reads the database');
    } finally {
      postgresProxy.restore();
    }
    await waitUntil(
      async () => {
        assert.equal(await meStatus(x, ended.access_token), 401, 'still refused while the listener reconnects');
        return (await listenerCount(database.name)) === 2;
      },
      "X's listener to come back",
      8000,
    );
    assert.equal(await meStatus(x, ended.access_token), 401, 'still refused once it listens again');
    assert.equal(await meStatus(x, kept.access_token), 200);

    // And the bus carries changes again: a warm entry is dropped when Y ends that session.
    for (let i = 0; i < 2; i += 1) assert.equal(await meStatus(x, kept.access_token), 200);
    await logout(y, kept.access_token);
    const ms = await msUntilRefused(x, kept.access_token);
    assert.ok(ms < PROPAGATION_BOUND_MS, `refused after ${ms.toFixed(0)} ms`);
    assertAlive(x, y);
  });

  it('answers 503 within the statement timeout while PostgreSQL stops answering without a reset, and recovers by itself', async (t) => {
    const username = uniqueName('stall');
    await signUp(x, username);
    const bound = { timeoutMs: STALL_LATENCY_BOUND_MS + 2000 };
    const load = startLoad(
      [
        ['login', () => request(x, '/token', { form: { username, password: PASSWORD }, ...bound })],
        ['readyz', () => request(x, '/readyz', bound)],
        ['sign-up', () => request(x, '/users', { json: { username: uniqueName('stalled'), password: PASSWORD }, ...bound })],
      ],
      3,
      40,
    );
    let stalledAt = 0;
    let restoredAt = 0;
    let recoveredAt = 0;
    let samples: Sample[];
    const ops = ['login', 'readyz', 'sign-up'];
    try {
      await load.until((answered) => coverage(answered, ops, 3), 'answers before the stall');
      stalledAt = performance.now();
      // A partition: nothing is reset, nothing answers. Only the timeouts can end a request.
      postgresProxy.stall();
      // It lasts until two requests have had to give up on the database.
      await load.until((answered) => answered.filter((s) => s.startedAt + s.ms > stalledAt + 100).length >= 2, 'answers during the stall');
      restoredAt = performance.now();
      postgresProxy.restore();
      await waitUntil(
        async () => {
          const ready = await request(x, '/readyz');
          await ready.arrayBuffer();
          return ready.status === 200;
        },
        'X to be ready again',
        8000,
      );
      recoveredAt = performance.now();
      await load.until(
        (answered) =>
          coverage(
            answered.filter((s) => s.startedAt >= recoveredAt),
            ops,
            3,
          ),
        'answers after the recovery',
      );
    } finally {
      postgresProxy.restore();
      samples = await load.stop();
    }
    assert.ok(recoveredAt - restoredAt < 5000, `recovered ${(recoveredAt - restoredAt).toFixed(0)} ms after the restore`);
    const failed = samples.filter((s) => s.status <= 0);
    assert.deepEqual(failed, [], `no request failed or hung: ${describeSamples(failed)}`);
    const errors = samples.filter((s) => s.status >= 500 && s.status !== 503);
    assert.deepEqual(errors, [], `no 5xx but 503: ${describeSamples(errors)}`);
    const slowest = Math.max(...samples.map((s) => s.ms));
    assert.ok(slowest < STALL_LATENCY_BOUND_MS, `slowest answer ${slowest.toFixed(0)} ms (bound ${STALL_LATENCY_BOUND_MS})`);
    // Answered while nothing got through: each had to give up on the database (started before the stall or in it).
    const duringStall = samples.filter((s) => s.startedAt + s.ms > stalledAt + 100 && s.startedAt + s.ms < restoredAt);
    assert.ok(duringStall.length >= 2, `requests answered during the stall: ${describeSamples(duringStall)}`);
    const notUnavailable = duringStall.filter((s) => s.status !== 503 || s.detail !== STORAGE_UNAVAILABLE);
    assert.deepEqual(notUnavailable, [], `every request answered during the stall is a 503: ${describeSamples(notUnavailable)}`);
    const expected: Record<string, number> = { login: 200, 'sign-up': 201, readyz: 200 };
    const afterRecovery = samples.filter((s) => s.startedAt >= recoveredAt);
    assert.ok(coverage(afterRecovery, ops, 3), `requests after the recovery: ${describeSamples(afterRecovery)}`);
    const wrong = afterRecovery.filter((s) => s.status !== expected[s.op]);
    assert.deepEqual(wrong, [], `after the recovery everything succeeds: ${describeSamples(wrong)}`);
    assertAlive(x, y);
    t.diagnostic(`${samples.length} requests; ${duringStall.length} answered 503 during the stall; slowest ${slowest.toFixed(0)} ms`);
  });

  it('refuses within two seconds a session ended elsewhere while its change listener is silently cut off', async () => {
    const username = uniqueName('silent');
    await signUp(y, username);
    const tokens = await login(y, username);
    for (let i = 0; i < 2; i += 1) assert.equal(await meStatus(x, tokens.access_token), 200);
    postgresProxy.stall((hello) => hello.includes('portcullis-changes'));
    try {
      await logout(y, tokens.access_token);
      await msUntilRefused(x, tokens.access_token, 2000);
    } finally {
      postgresProxy.restore();
      // Once the partition heals, the notification held back arrives and X refuses the token.
      await msUntilRefused(x, tokens.access_token, 3000);
    }
  });

  it('keeps logins, refreshes and /users/me working while Redis is cut off, limits per instance, and shares limits again after', async (t) => {
    const username = uniqueName('redis');
    await signUp(x, username);
    const revoke = async (server: ServeProcess, ip: string) => {
      const response = await request(server, '/revoke', { form: { token: 'not-a-token' }, ip });
      await response.arrayBuffer();
      return response.status;
    };
    // Shared: three on X and one on Y, from one address, empty its bucket of three.
    const sharedThroughRedis = async () => {
      const ip = randomClientIp();
      const statuses = [await revoke(x, ip), await revoke(x, ip), await revoke(x, ip), await revoke(y, ip)];
      return statuses.join() === '200,200,200,429';
    };
    // (Polled: on a busy machine a Redis command can time out, and an instance then counts in-process for a moment.)
    await waitUntil(sharedThroughRedis, 'limits shared through Redis', 5000);

    const start = await login(x, username);
    let refreshToken = start.refresh_token;
    const bound = { timeoutMs: REDIS_DOWN_LATENCY_BOUND_MS + 3000 };
    redisProxy.cut();
    let samples: Sample[];
    const load = startLoad(
      [
        ['login', () => request(x, '/token', { form: { username, password: PASSWORD }, ...bound })],
        ['me', () => request(y, '/users/me', { token: start.access_token, ...bound })],
        [
          'refresh',
          async () => {
            const response = await request(x, '/token', { form: { grant_type: 'refresh_token', refresh_token: refreshToken }, ...bound });
            if (response.status !== 200) return response;
            const body = (await response.json()) as Tokens;
            refreshToken = body.refresh_token;
            return new Response(JSON.stringify(body), { status: 200 });
          },
        ],
        ['login', () => request(y, '/token', { form: { username, password: PASSWORD }, ...bound })],
        ['me', () => request(x, '/users/me', { token: start.access_token, ...bound })],
      ],
      1,
      30,
    );
    try {
      // Limits still hold, per instance: X's own bucket for the address trips; Y has a bucket of its own.
      const ip = randomClientIp();
      assert.deepEqual([await revoke(x, ip), await revoke(x, ip), await revoke(x, ip), await revoke(x, ip)], [200, 200, 200, 429]);
      assert.equal(await revoke(y, ip), 200, 'counted per instance while Redis is away');

      // Revocation goes through PostgreSQL, not Redis: a logout on X is refused on Y, whose cache was warm.
      const revoked = await login(x, username);
      for (let i = 0; i < 2; i += 1) assert.equal(await meStatus(y, revoked.access_token), 200);
      await logout(x, revoked.access_token);
      const ms = await msUntilRefused(y, revoked.access_token);
      assert.ok(ms < PROPAGATION_BOUND_MS, `refused on Y after ${ms.toFixed(0)} ms`);
      await load.until((answered) => answered.filter((s) => s.op === 'refresh').length >= 2, 'two refreshes without Redis');
    } finally {
      redisProxy.restore();
      samples = await load.stop();
    }
    const expected: Record<string, number> = { login: 200, me: 200, refresh: 200 };
    const wrong = samples.filter((s) => s.status !== expected[s.op]);
    assert.deepEqual(wrong, [], `everything succeeds without Redis: ${describeSamples(wrong)}`);
    assert.ok(samples.filter((s) => s.op === 'refresh').length >= 2, `refreshes rotated: ${describeSamples(samples)}`);
    const slowest = Math.max(...samples.map((s) => s.ms));
    assert.ok(slowest < REDIS_DOWN_LATENCY_BOUND_MS, `slowest answer ${slowest.toFixed(0)} ms (bound ${REDIS_DOWN_LATENCY_BOUND_MS})`);

    // Back to one bucket per address for both instances, by themselves.
    const sharedAfterMs = await waitUntil(sharedThroughRedis, 'limits to be shared again', 10_000);
    assert.ok(sharedAfterMs < 8000, `shared again ${sharedAfterMs.toFixed(0)} ms after the restore`);
    for (const server of [x, y]) {
      const messages = server.logLines().map((line) => String(line.msg));
      assert.ok(
        messages.some((msg) => msg.startsWith('Redis unavailable: rate limits')),
        `${server.url} logged the outage`,
      );
      assert.ok(
        messages.some((msg) => msg.startsWith('Redis reachable again: rate limits')),
        `${server.url} logged the recovery`,
      );
    }
    assertAlive(x, y);
    t.diagnostic(
      `${samples.length} requests without Redis, slowest ${slowest.toFixed(0)} ms; limits shared again ${sharedAfterMs.toFixed(0)} ms after the restore`,
    );
  });
});
