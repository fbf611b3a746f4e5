/**
 * A slow or huge request costs little: headers dribbled past
 * HEADERS_TIMEOUT_SECONDS, a body dribbled past REQUEST_TIMEOUT_SECONDS and
 * an idle keep-alive connection past KEEP_ALIVE_TIMEOUT_SECONDS are cut off
 * within a bounded time, and a header block over MAX_HEADER_BYTES gets 431.
 * Raw sockets, so that the server sees exactly these bytes at this pace.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dribble, rawRequest, sendRaw } from '../helpers/raw-http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const HEADERS_TIMEOUT_MS = 1_000;
const REQUEST_TIMEOUT_MS = 2_000;
const KEEP_ALIVE_TIMEOUT_MS = 1_000;
const MAX_HEADER_BYTES = 4_096;
/**
 * Node checks the timeouts every 250 ms here (by default every 30 s, which would stretch a 1 s bound
 * to 30: what these bounds catch). Node's timers, not a clock a test can move, so the slack is for a
 * loaded 2-core machine, where the test's own timers and the server's (one process) fire late.
 */
const SLACK_MS = 4_000;

function statusLine(received: string): string {
  return received.split('\r\n', 1)[0] ?? '';
}

describe('request limits', () => {
  let server: TestServer;
  let host: string;
  before(async () => {
    server = await startTestServer({
      HEADERS_TIMEOUT_SECONDS: String(HEADERS_TIMEOUT_MS / 1000),
      REQUEST_TIMEOUT_SECONDS: String(REQUEST_TIMEOUT_MS / 1000),
      KEEP_ALIVE_TIMEOUT_SECONDS: String(KEEP_ALIVE_TIMEOUT_MS / 1000),
      MAX_HEADER_BYTES: String(MAX_HEADER_BYTES),
    });
    host = new URL(server.url).host;
  });
  after(() => server.stop());

  it('cuts off a client that sends its headers byte by byte with 408', async () => {
    const outcome = await dribble(server.url, {
      head: `GET /healthz HTTP/1.1\r\nHost: ${host}\r\n`,
      drip: 'X-Slow: a\r\n',
      intervalMs: 50,
      giveUpMs: HEADERS_TIMEOUT_MS + SLACK_MS + 5_000,
    });
    assert.equal(outcome.closedByServer, true, 'the server closed the connection');
    assert.ok(outcome.elapsedMs >= HEADERS_TIMEOUT_MS - 50, `not before the timeout (${outcome.elapsedMs} ms)`);
    assert.ok(outcome.elapsedMs <= HEADERS_TIMEOUT_MS + SLACK_MS, `closed after ${outcome.elapsedMs} ms`);
    assert.equal(statusLine(outcome.received), 'HTTP/1.1 408 Request Timeout');
    assert.match(outcome.received, /\{"detail":"Request timed out"\}$/);
  });

  it('cuts off a client that sends its body slowly past REQUEST_TIMEOUT_SECONDS', async () => {
    const outcome = await dribble(server.url, {
      head:
        `POST /token HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
        'Content-Length: 4000\r\n\r\nusername=alice&password=',
      drip: 'x',
      intervalMs: 50,
      giveUpMs: REQUEST_TIMEOUT_MS + SLACK_MS + 5_000,
    });
    assert.equal(outcome.closedByServer, true, 'the server closed the connection');
    assert.ok(outcome.elapsedMs >= REQUEST_TIMEOUT_MS - 50, `not before the timeout (${outcome.elapsedMs} ms)`);
    assert.ok(outcome.elapsedMs <= REQUEST_TIMEOUT_MS + SLACK_MS, `closed after ${outcome.elapsedMs} ms`);
    assert.equal(statusLine(outcome.received), 'HTTP/1.1 408 Request Timeout');
  });

  it('closes an idle keep-alive connection after KEEP_ALIVE_TIMEOUT_SECONDS', async () => {
    const outcome = await sendRaw(server.url, `GET /healthz HTTP/1.1\r\nHost: ${host}\r\n\r\n`, KEEP_ALIVE_TIMEOUT_MS + SLACK_MS + 5_000);
    assert.equal(statusLine(outcome.received), 'HTTP/1.1 200 OK');
    assert.equal(outcome.closedByServer, true);
    assert.ok(outcome.elapsedMs <= KEEP_ALIVE_TIMEOUT_MS + SLACK_MS, `closed after ${outcome.elapsedMs} ms`);
  });

  it('answers 431 to a header block over MAX_HEADER_BYTES, and serves one under it', async () => {
    const over = await sendRaw(server.url, `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'a'.repeat(MAX_HEADER_BYTES)}\r\n\r\n`);
    assert.equal(statusLine(over.received), 'HTTP/1.1 431 Request Header Fields Too Large');
    assert.match(over.received, /\{"detail":"Request header fields too large"\}$/);
    assert.equal(over.closedByServer, true);

    const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`x-h${i}`, 'b'.repeat(40)]));
    const overByCount = await rawRequest(server.url, 'GET', '/healthz', many);
    assert.equal(overByCount.status, 431, 'many small headers count together');

    const under = await rawRequest(server.url, 'GET', '/healthz', { 'x-big': 'a'.repeat(MAX_HEADER_BYTES / 2) });
    assert.equal(under.status, 200);
  });

  it('keeps serving after cutting slow clients off', async () => {
    const response = await server.fetch('/healthz');
    assert.equal(response.status, 200);
  });
});
