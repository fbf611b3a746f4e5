import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliEnv, jsonLines, makeDataDir, runCli, startServe, type ServeProcess } from '../helpers/cli.js';

const PASSWORD = 'shut-the-gate-gently-7';

function logMessages(server: ServeProcess): string[] {
  return server.logLines().map((line) => String(line.msg));
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Starts a login (POST /token) with `Expect: 100-continue` and resolves once
 * the server has answered "100 Continue", i.e. once the request is in the
 * server's hands. `send()` then sends the form body; `response` settles with it.
 */
function startLogin(
  url: string,
  keepAlive: boolean,
): Promise<{ send(): void; response: Promise<{ status: number; body: string; headers: IncomingMessage['headers'] }> }> {
  const body = new URLSearchParams({ username: 'alice', password: PASSWORD }).toString();
  return new Promise((resolveStarted, rejectStarted) => {
    let settle!: (value: { status: number; body: string; headers: IncomingMessage['headers'] }) => void;
    let fail!: (error: Error) => void;
    const response = new Promise<{ status: number; body: string; headers: IncomingMessage['headers'] }>((resolve, reject) => {
      settle = resolve;
      fail = reject;
    });
    response.catch(() => undefined);
    const req = request(`${url}/token`, {
      method: 'POST',
      // agent false sends Connection: close; the keep-alive case keeps the socket open after the response.
      agent: keepAlive ? undefined : false,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': Buffer.byteLength(body),
        expect: '100-continue',
        ...(keepAlive ? { connection: 'keep-alive' } : {}),
      },
    });
    req.on('continue', () => resolveStarted({ send: () => req.end(body), response }));
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => settle({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
    });
    req.on('error', (error) => {
      rejectStarted(error);
      fail(error);
    });
    req.flushHeaders();
  });
}

describe('portcullis serve: start and graceful shutdown', () => {
  const dataDir = makeDataDir();
  before(async () => {
    const added = await runCli(['users', 'add', 'alice', '--password-stdin'], { env: cliEnv(dataDir), input: `${PASSWORD}\n` });
    assert.equal(added.code, 0, added.stderr);
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  for (const keepAlive of [false, true]) {
    it(`finishes a login in flight at SIGTERM and exits 0${keepAlive ? ' (keep-alive client)' : ''}`, async () => {
      const server = await startServe(cliEnv(dataDir));
      try {
        const login = await startLogin(server.url, keepAlive);
        server.child.kill('SIGTERM');
        await waitFor(() => logMessages(server).some((msg) => msg.startsWith('shutting down')), 'the shutdown log line');
        // New requests are turned away while the one in flight is finished.
        const late = await server.fetch('/healthz').then(
          (response) => response.status,
          () => 'refused',
        );
        assert.ok(late === 503 || late === 'refused', `a new request got ${late}`);
        login.send();
        const response = await login.response;
        assert.equal(response.status, 200, response.body);
        assert.equal((JSON.parse(response.body) as { token_type: string }).token_type, 'bearer');
        const exit = await server.exited;
        assert.equal(exit.code, 0, exit.stderr);
        const messages = logMessages(server);
        assert.ok(messages.includes('stopped'), messages.join('\n'));
        assert.ok(messages.indexOf('stopped') > messages.findIndex((msg) => msg === 'request'), 'stopped after the request');
      } finally {
        await server.stop('SIGKILL');
      }
    });
  }

  it('gives up after SHUTDOWN_TIMEOUT_SECONDS on a stuck request and exits 2', async () => {
    const server = await startServe(cliEnv(dataDir, { SHUTDOWN_TIMEOUT_SECONDS: '1' }));
    const { hostname, port } = new URL(server.url);
    // A client that sends half its body and then nothing: the request stays in flight until the server's request timeout.
    const socket = connect(Number(port), hostname);
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    // Expect: 100-continue: the server's "100 Continue" says the request is in its hands.
    const continued = new Promise<void>((resolve) => {
      let received = '';
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('latin1');
        if (received.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) resolve();
      });
    });
    socket.write(
      'POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n',
    );
    await continued;
    socket.write('username=');
    try {
      const started = Date.now();
      const exit = await server.stop('SIGTERM');
      assert.equal(exit.code, 2);
      // Without the shutdown timeout it would wait for the request timeout (REQUEST_TIMEOUT_SECONDS, 30 s).
      assert.ok(Date.now() - started < 15_000, `exit took ${Date.now() - started} ms`);
      assert.ok(logMessages(server).some((msg) => msg.includes('shutdown timed out')));
    } finally {
      socket.destroy();
      await server.stop('SIGKILL');
    }
  });

  it('exits 2 when its port is taken, saying so in one line; the stack only at LOG_LEVEL=debug', async () => {
    const first = await startServe(cliEnv(dataDir));
    try {
      const port = new URL(first.url).port;
      const second = await runCli(['serve'], { env: cliEnv(dataDir, { HOST: '127.0.0.1', PORT: port, LOG_LEVEL: 'info' }) });
      assert.equal(second.code, 2);
      assert.equal(second.stderr, `portcullis: cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)\n`);
      assert.doesNotMatch(second.stdout, /"stack"|EADDRINUSE/);
      const debug = await runCli(['serve'], { env: cliEnv(dataDir, { HOST: '127.0.0.1', PORT: port, LOG_LEVEL: 'debug' }) });
      assert.equal(debug.code, 2);
      assert.equal(debug.stderr, second.stderr);
      const logged = jsonLines(debug.stdout).find(
        (line) => line.msg === 'cannot listen on 127.0.0.1:' + port + ': address already in use (EADDRINUSE)',
      );
      assert.equal(logged?.level, 20, debug.stdout);
      assert.match(String((logged?.err as { stack?: unknown } | undefined)?.stack), /EADDRINUSE[^\n]*\n\s+at /);
    } finally {
      await first.stop();
    }
  });

  it('exits 2 when PostgreSQL does not answer, naming it without its password, in one line', async () => {
    // Nothing listens on port 1: the connection is refused at once.
    const url = 'postgres://portcullis:hunter2-not-printed@127.0.0.1:1/auth';
    for (const workers of ['1', '2']) {
      const result = await runCli(['serve'], {
        env: cliEnv(dataDir, { HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', DATABASE_URL: url, WORKERS: workers }),
      });
      assert.equal(result.code, 2, `WORKERS=${workers}: ${result.stderr}`);
      assert.equal(
        result.stderr,
        'portcullis: cannot reach the database (postgres 127.0.0.1:1/auth): connection refused (ECONNREFUSED)\n',
        `WORKERS=${workers}`,
      );
      assert.doesNotMatch(result.stdout, /"stack"|hunter2/);
    }
  });

  it('exits 2 when password hashing cannot start (its native binding will not load on the hashing threads)', async () => {
    // serve listens before its hashing threads warm up; threads that cannot hash at all still fail the start.
    const preload = join(dataDir, 'no-argon2-on-threads.cjs');
    writeFileSync(
      preload,
      `const { isMainThread } = require('node:worker_threads');
if (!isMainThread) {
  const Module = require('node:module');
  const load = Module._load;
  Module._load = function (request, ...rest) {
    // The worker imports @node-rs/argon2 as an ES module (not through Module._load); the package then
    // require()s its platform binding (@node-rs/argon2-linux-x64-gnu, ...), which is refused here.
    if (request === '@node-rs/argon2' || request.startsWith('@node-rs/argon2-')) throw new Error('test: the argon2 binding will not load');
    return load.call(this, request, ...rest);
  };
}
`,
    );
    const result = await runCli(['serve'], {
      env: cliEnv(dataDir, { HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', NODE_OPTIONS: `--require ${preload}` }),
    });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stdout, /Portcullis listening/);
    assert.match(result.stderr, /could not start: password hashing failed/);
  });

  it('exits 0 on SIGINT', async () => {
    const server = await startServe(cliEnv(dataDir));
    const exit = await server.stop('SIGINT');
    assert.equal(exit.code, 0, exit.stderr);
    assert.equal(exit.signal, null);
    assert.ok(logMessages(server).includes('stopped'));
  });

  it('exits 0 on SIGTERM when idle', async () => {
    const server = await startServe(cliEnv(dataDir));
    const exit = await server.stop('SIGTERM');
    assert.equal(exit.code, 0, exit.stderr);
    assert.ok(logMessages(server).includes('stopped'));
  });
});
