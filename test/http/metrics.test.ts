/**
 * GET /metrics over real HTTP against the real server (real SQLite): the
 * scrape is parsed strictly as the Prometheus text format, and the counts are
 * checked after a known sequence of requests. Then the settings (METRICS_TOKEN,
 * METRICS_PORT, METRICS=off), the Grafana dashboard in docs/ against what
 * /metrics exposes, and the aggregate a cluster primary serves on METRICS_PORT.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Registry } from 'prom-client';
import { ConfigError, loadConfig } from '../../src/server/config.js';
import { formPostWith, passwordLogin, refresh, refreshOk, sessionIdOf } from '../helpers/lifecycle.js';
import { bearer, makeTempDir, signUp, startTestServer, TEST_SECRET_KEY, type TestServer } from '../helpers/server.js';
import { jsonLines } from '../helpers/cli.js';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

// ---------------------------------------------------------------------------------------------
// A strict reader of the Prometheus text exposition format (0.0.4).

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

interface Family {
  readonly name: string;
  readonly type: string;
  readonly help: string;
}

interface Scrape {
  readonly families: ReadonlyMap<string, Family>;
  readonly samples: readonly Sample[];
  /** The value of the one series with exactly these labels; undefined if there is none. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** Every sample name and family name exposed (histograms: _bucket, _sum, _count too). */
  readonly names: ReadonlySet<string>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function parseValue(text: string, line: string): number {
  if (/^[+]?inf$/i.test(text)) return Number.POSITIVE_INFINITY;
  if (/^-inf$/i.test(text)) return Number.NEGATIVE_INFINITY;
  if (/^nan$/i.test(text)) return Number.NaN;
  assert.match(text, FLOAT, `not a number: ${line}`);
  return Number(text);
}

/** `{a="x",b="y\"z"}` at `start`; returns the labels and the index after the closing brace. */
function parseLabels(line: string, start: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  while (line[i] !== '}') {
    const eq = line.indexOf('=', i);
    assert.ok(eq > i, `label without "=": ${line}`);
    const name = line.slice(i, eq);
    assert.match(name, LABEL_NAME, `bad label name: ${line}`);
    assert.ok(!(name in labels), `label ${name} twice: ${line}`);
    assert.equal(line[eq + 1], '"', `label value not quoted: ${line}`);
    let value = '';
    let j = eq + 2;
    for (; j < line.length && line[j] !== '"'; j += 1) {
      if (line[j] === '\\') {
        j += 1;
        const escaped = line[j];
        assert.ok(escaped === '\\' || escaped === '"' || escaped === 'n', `bad escape in: ${line}`);
        value += escaped === 'n' ? '\n' : escaped;
      } else {
        value += line[j];
      }
    }
    assert.equal(line[j], '"', `unterminated label value: ${line}`);
    labels[name] = value;
    i = j + 1;
    if (line[i] === ',') i += 1;
    else assert.equal(line[i], '}', `expected "," or "}": ${line}`);
  }
  return { labels, end: i + 1 };
}

/** The family a sample name belongs to, given the declared families. */
function familyOf(name: string, families: ReadonlyMap<string, Family>): Family | undefined {
  const exact = families.get(name);
  if (exact) return exact;
  const match = /^(.*)_(bucket|sum|count)$/.exec(name);
  const base = match && families.get(match[1]!);
  if (base?.type === 'histogram') return base;
  if (base?.type === 'summary' && match![2] !== 'bucket') return base;
  return undefined;
}

function parseExposition(text: string): Scrape {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a line feed');
  const families = new Map<string, Family>();
  const helps = new Map<string, string>();
  const samples: Sample[] = [];
  const series = new Set<string>();
  const finished = new Set<string>();
  let current: string | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!meta) continue; // another comment
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      assert.match(name, METRIC_NAME, `bad metric name: ${line}`);
      if (kind === 'HELP') {
        assert.ok(!helps.has(name), `HELP twice for ${name}`);
        helps.set(name, rest);
      } else {
        assert.ok(!families.has(name), `TYPE twice for ${name}`);
        assert.ok(TYPES.has(rest), `unknown type: ${line}`);
        assert.ok(
          !samples.some((sample) => familyOf(sample.name, new Map([[name, { name, type: rest, help: '' }]]))),
          `TYPE after samples of ${name}`,
        );
        families.set(name, { name, type: rest, help: helps.get(name) ?? '' });
      }
      continue;
    }
    const nameEnd = line.search(/[{ ]/);
    assert.ok(nameEnd > 0, `not a sample: ${line}`);
    const name = line.slice(0, nameEnd);
    assert.match(name, METRIC_NAME, `bad metric name: ${line}`);
    let labels: Record<string, string> = {};
    let i = nameEnd;
    if (line[i] === '{') ({ labels, end: i } = parseLabels(line, i));
    assert.equal(line[i], ' ', `expected a space before the value: ${line}`);
    const [valueText, timestamp, extra] = line.slice(i + 1).split(' ');
    assert.equal(extra, undefined, `trailing text: ${line}`);
    if (timestamp !== undefined) assert.match(timestamp, /^-?\d+$/, `bad timestamp: ${line}`);
    const family = familyOf(name, families);
    assert.ok(family, `sample of an undeclared family (no TYPE before it): ${line}`);
    // A family's samples come together.
    if (family.name !== current) {
      assert.ok(!finished.has(family.name), `samples of ${family.name} are not contiguous`);
      if (current !== undefined) finished.add(current);
      current = family.name;
    }
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    assert.ok(!series.has(key), `series twice: ${line}`);
    series.add(key);
    if (family.type === 'histogram' && name.endsWith('_bucket')) assert.ok('le' in labels, `bucket without le: ${line}`);
    samples.push({ name, labels, value: parseValue(valueText ?? '', line) });
  }
  for (const name of helps.keys()) assert.ok(families.has(name), `HELP without TYPE for ${name}`);
  checkHistograms(families, samples);
  const names = new Set<string>([...families.keys(), ...samples.map((sample) => sample.name)]);
  return {
    families,
    samples,
    names,
    value(name, labels = {}) {
      const wanted = JSON.stringify(Object.entries(labels).sort());
      return samples.find((sample) => sample.name === name && JSON.stringify(Object.entries(sample.labels).sort()) === wanted)?.value;
    },
  };
}

/** Buckets are cumulative, end at +Inf, and +Inf equals _count. */
function checkHistograms(families: ReadonlyMap<string, Family>, samples: readonly Sample[]): void {
  for (const family of families.values()) {
    if (family.type !== 'histogram') continue;
    const bySeries = new Map<string, Sample[]>();
    for (const sample of samples.filter((s) => s.name === `${family.name}_bucket`)) {
      const { le: _le, ...rest } = sample.labels;
      const key = JSON.stringify(Object.entries(rest).sort());
      bySeries.set(key, [...(bySeries.get(key) ?? []), sample]);
    }
    for (const [key, buckets] of bySeries) {
      const bounds = buckets.map((bucket) => parseValue(bucket.labels.le!, family.name));
      assert.deepEqual(
        bounds,
        [...bounds].sort((a, b) => a - b),
        `${family.name} buckets in order`,
      );
      assert.equal(bounds.at(-1), Number.POSITIVE_INFINITY, `${family.name} ends with +Inf`);
      for (let i = 1; i < buckets.length; i += 1) assert.ok(buckets[i]!.value >= buckets[i - 1]!.value, `${family.name} ${key} cumulative`);
      const count = samples.find((s) => s.name === `${family.name}_count` && JSON.stringify(Object.entries(s.labels).sort()) === key);
      assert.equal(count?.value, buckets.at(-1)!.value, `${family.name} ${key}: +Inf bucket = _count`);
    }
  }
}

// ---------------------------------------------------------------------------------------------

async function scrape(url: string, headers: Record<string, string> = {}): Promise<{ response: Response; metrics: Scrape }> {
  const response = await fetch(url, { headers });
  assert.equal(response.status, 200, `GET ${url}`);
  return { response, metrics: parseExposition(await response.text()) };
}

async function statusOf(response: Promise<Response>): Promise<number> {
  const answer = await response;
  await answer.arrayBuffer();
  return answer.status;
}

describe('GET /metrics', () => {
  let server: TestServer;
  let first: Scrape;
  let contentType: string | null;
  let deletedSession: string;

  before(async () => {
    server = await startTestServer({
      // A retired refresh token presented again is reuse at once, with no grace window to wait out.
      REFRESH_REUSE_GRACE_SECONDS: '0',
      // Two password grants per account, then 429 (one token a minute back).
      RATE_LIMIT_ACCOUNT_BURST: '2',
      RATE_LIMIT_ACCOUNT_PER_MINUTE: '1',
      // One failure of an (account, source) pair, and its next attempt waits hours.
      LOGIN_BACKOFF_FREE_FAILURES: '0',
      LOGIN_BACKOFF_BASE_SECONDS: '3600',
      LOGIN_BACKOFF_MAX_SECONDS: '86400',
    });
    for (const name of ['alice', 'bob', 'carol']) assert.equal(await statusOf(signUp(server, name, `${name}-password-1`)), 201);
    const alice = await passwordLogin(server, 'alice', 'alice-password-1');
    assert.equal(await statusOf(formPostWith(server, '/token', { username: 'bob', password: 'not-bobs-password' })), 401);
    const ghost = () => statusOf(formPostWith(server, '/token', { username: 'ghost', password: 'whatever-password' }));
    assert.equal(await ghost(), 401, 'unknown user');
    assert.equal(await ghost(), 429, 'the login backoff');
    await refreshOk(server, alice.refresh_token);
    assert.equal(await statusOf(refresh(server, alice.refresh_token)), 401, 'reuse of a retired refresh token');
    const carol1 = await passwordLogin(server, 'carol', 'carol-password-1');
    const carol2 = await passwordLogin(server, 'carol', 'carol-password-1');
    assert.equal(
      await statusOf(formPostWith(server, '/token', { username: 'carol', password: 'carol-password-1' })),
      429,
      'the account bucket',
    );
    assert.equal(await statusOf(server.fetch('/users/me/sessions', { headers: bearer(carol1.access_token) })), 200);
    deletedSession = sessionIdOf(carol2.access_token);
    const deleted = server.fetch(`/users/me/sessions/${deletedSession}`, { method: 'DELETE', headers: bearer(carol1.access_token) });
    assert.equal(await statusOf(deleted), 204);
    assert.equal(await statusOf(server.fetch('/no/such/route?x=1')), 404);
    const scraped = await scrape(`${server.url}/metrics`);
    first = scraped.metrics;
    contentType = scraped.response.headers.get('content-type');
  });
  after(() => server?.stop());

  it("answers in prom-client's content type, every family with HELP and TYPE and the portcullis_ prefix", () => {
    assert.equal(contentType, server.metrics!.contentType);
    assert.equal(contentType, new Registry().contentType);
    assert.ok(first.families.size > 20, `${first.families.size} families`);
    for (const family of first.families.values()) {
      assert.match(family.name, /^portcullis_/);
      assert.notEqual(family.help, '', `${family.name} has HELP`);
    }
    for (const sample of first.samples) assert.match(sample.name, /^portcullis_/);
  });

  it('counts logins by outcome, refreshes, reuse detections and 429s by bucket', () => {
    const logins = (outcome: string) => first.value('portcullis_logins_total', { outcome });
    assert.deepEqual(['success', 'wrong_password', 'unknown_user', 'disabled', 'throttled'].map(logins), [3, 1, 1, 0, 1]);
    const refreshes = (outcome: string) => first.value('portcullis_token_refreshes_total', { outcome });
    assert.deepEqual(['success', 'reused', 'invalid', 'rate_limited', 'error'].map(refreshes), [1, 1, 0, 0, 0]);
    assert.equal(first.value('portcullis_refresh_reuse_detected_total'), 1);
    const limited = (bucket: string) => first.value('portcullis_rate_limited_total', { bucket });
    assert.deepEqual(['ip', 'account', 'login_throttle'].map(limited), [0, 1, 1]);
    assert.equal(first.value('portcullis_admission_rejected_total', { reason: 'at_admission' }), 0);
    assert.equal(first.value('portcullis_admission_rejected_total', { reason: 'timed_out' }), 0);
  });

  it('counts requests by route pattern and status, never by raw URL', () => {
    const requests = (method: string, route: string, status: string) =>
      first.value('portcullis_http_requests_total', { method, route, status });
    assert.equal(requests('POST', '/users', '201'), 3);
    assert.equal(requests('POST', '/token', '200'), 4);
    assert.equal(requests('POST', '/token', '401'), 3);
    assert.equal(requests('POST', '/token', '429'), 2);
    assert.equal(requests('GET', '/users/me/sessions', '200'), 1);
    assert.equal(requests('DELETE', '/users/me/sessions/:id', '204'), 1);
    assert.equal(requests('GET', 'unmatched', '404'), 1);
    const labelValues = first.samples.flatMap((sample) => Object.values(sample.labels));
    assert.ok(!labelValues.some((value) => value.includes(deletedSession)), 'no session id in a label');
    assert.ok(!labelValues.some((value) => value.includes('/no/such') || value.includes('?')), 'no raw URL in a label');
    assert.ok(!labelValues.includes('/metrics'), 'scrapes are not counted');
  });

  it('times requests in a histogram by route and status class', () => {
    const labels = { method: 'POST', route: '/token', status_class: '2xx' };
    assert.equal(first.value('portcullis_http_request_duration_seconds_count', labels), 4);
    assert.equal(first.value('portcullis_http_request_duration_seconds_bucket', { ...labels, le: '+Inf' }), 4);
    assert.ok(first.value('portcullis_http_request_duration_seconds_sum', labels)! > 0);
    assert.equal(first.families.get('portcullis_http_request_duration_seconds')?.type, 'histogram');
  });

  it('reports the hashing pool: every hash waited, none waits now, none refused', () => {
    // The server's warm-up hash and its one verification (which times the dummy, for padding imported hashes),
    // 3 sign-ups, 4 logins that checked a password, 1 login of an unknown user (the dummy hash).
    assert.equal(first.value('portcullis_hash_wait_seconds_count'), 10);
    assert.equal(first.value('portcullis_hash_queue_depth'), 0);
    assert.equal(first.value('portcullis_hash_in_progress'), 0);
  });

  it('counts the active sessions as the database does', async () => {
    // alice's session ended with the reuse, carol's second was deleted: carol's first is left.
    assert.equal(first.value('portcullis_active_sessions'), 1);
    assert.equal(await server.storage.sessions.countActive(Date.now()), 1);
  });

  it('includes the process metrics', () => {
    for (const name of [
      'portcullis_process_cpu_seconds_total',
      'portcullis_process_resident_memory_bytes',
      'portcullis_nodejs_heap_size_used_bytes',
    ]) {
      assert.ok(first.names.has(name), name);
    }
  });

  it('moves the counts with the next requests, and does not count the scrapes', async () => {
    assert.equal(await statusOf(formPostWith(server, '/token', { username: 'nobody', password: 'whatever-password' })), 401);
    const { metrics: next } = await scrape(`${server.url}/metrics`);
    assert.equal(next.value('portcullis_logins_total', { outcome: 'unknown_user' }), 2);
    assert.equal(next.value('portcullis_logins_total', { outcome: 'success' }), 3);
    assert.equal(next.value('portcullis_http_requests_total', { method: 'POST', route: '/token', status: '401' }), 4);
    assert.ok(!next.samples.some((sample) => sample.labels.route === '/metrics'));
  });

  it('keeps the counts of two servers in one process apart', async () => {
    const other = await startTestServer();
    try {
      const { metrics } = await scrape(`${other.url}/metrics`);
      assert.equal(metrics.value('portcullis_logins_total', { outcome: 'success' }), 0);
      assert.equal(metrics.value('portcullis_http_requests_total', { method: 'POST', route: '/token', status: '200' }), undefined);
    } finally {
      await other.stop();
    }
  });
});

describe('GET /metrics with METRICS_TOKEN', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ METRICS_TOKEN });
  });
  after(() => server?.stop());

  it('answers 401 without the token, as any bearer route does', async () => {
    const response = await server.fetch('/metrics');
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('www-authenticate'), 'Bearer');
    assert.deepEqual(await response.json(), { detail: 'Not authenticated' });
    assert.equal(await statusOf(server.fetch('/metrics', { headers: { authorization: `Basic ${METRICS_TOKEN}` } })), 401);
  });

  it('answers 401 invalid_token for a wrong token', async () => {
    for (const wrong of [`${METRICS_TOKEN.slice(0, -1)}X`, 'short', `${METRICS_TOKEN}0`, 'not a token68!']) {
      const response = await server.fetch('/metrics', { headers: bearer(wrong) });
      assert.equal(response.status, 401, wrong);
      assert.equal(response.headers.get('www-authenticate'), 'Bearer error="invalid_token"', wrong);
      await response.arrayBuffer();
    }
  });

  it('answers 200 with the token', async () => {
    const { metrics } = await scrape(`${server.url}/metrics`, bearer(METRICS_TOKEN));
    assert.ok(metrics.names.has('portcullis_http_requests_total'));
  });
});

describe('GET /metrics with METRICS_PORT', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ METRICS_PORT: '0', METRICS_TOKEN });
  });
  after(() => server?.stop());

  it('is not served on the API port', async () => {
    assert.equal(await statusOf(server.fetch('/metrics', { headers: bearer(METRICS_TOKEN) })), 404);
  });

  it('is served on its own port, on HOST, with the token, counting the API port', async () => {
    const metricsUrl = server.metricsUrl!;
    assert.match(metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    assert.notEqual(new URL(metricsUrl).port, new URL(server.url).port);
    assert.equal(await statusOf(fetch(metricsUrl)), 401);
    assert.equal(await statusOf(fetch(new URL('/healthz', metricsUrl))), 404);
    assert.equal(await statusOf(server.fetch('/healthz')), 200);
    const { response, metrics } = await scrape(metricsUrl, bearer(METRICS_TOKEN));
    assert.equal(response.headers.get('content-type'), new Registry().contentType);
    assert.equal(metrics.value('portcullis_http_requests_total', { method: 'GET', route: '/healthz', status: '200' }), 1);
    assert.ok(metrics.names.has('portcullis_active_sessions'));
  });
});

describe('METRICS=off', () => {
  it('serves no /metrics', async () => {
    const server = await startTestServer({ METRICS: 'off' });
    try {
      assert.equal(server.metrics, undefined);
      assert.equal(await statusOf(server.fetch('/metrics')), 404);
      assert.equal(await statusOf(server.fetch('/healthz')), 200);
    } finally {
      await server.stop();
    }
  });
});

describe('metrics settings', () => {
  const base = { SECRET_KEY: TEST_SECRET_KEY, DATA_DIR: '/tmp/unused' };

  it('refuses a short or malformed METRICS_TOKEN without echoing it, a METRICS_PORT equal to PORT, and a bad METRICS', () => {
    for (const [env, pattern] of [
      [{ METRICS_TOKEN: 'short-secret' }, /METRICS_TOKEN must be at least 16 characters/],
      [{ METRICS_TOKEN: 'has spaces in the middle of it' }, /METRICS_TOKEN must be/],
      [{ PORT: '9000', METRICS_PORT: '9000' }, /METRICS_PORT must differ from PORT/],
      [{ METRICS_PORT: '70000' }, /METRICS_PORT must be between 0 and 65535/],
      [{ METRICS: 'maybe' }, /METRICS must be one of on, off/],
    ] as const) {
      assert.throws(
        () => loadConfig({ ...base, ...env }),
        (error: unknown) => error instanceof ConfigError && pattern.test(error.message) && !error.message.includes('short-secret'),
      );
    }
  });

  it('defaults to on, no token, no port of its own', () => {
    assert.deepEqual({ ...loadConfig(base).metrics }, { enabled: true, token: undefined, port: undefined });
    assert.deepEqual(
      { ...loadConfig({ ...base, METRICS_TOKEN, METRICS_PORT: '9464' }).metrics },
      { enabled: true, token: METRICS_TOKEN, port: 9464 },
    );
  });
});

describe('docs/grafana-dashboard.json', () => {
  interface Target {
    readonly expr?: string;
    readonly datasource?: { readonly uid?: string };
  }
  interface Panel {
    readonly type: string;
    readonly title: string;
    readonly datasource?: { readonly uid?: string };
    readonly targets?: readonly Target[];
  }
  const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, 'docs', 'grafana-dashboard.json'), 'utf8')) as {
    schemaVersion: number;
    __inputs: Array<{ name: string; type: string; pluginId: string }>;
    panels: Panel[];
    templating: { list: Array<{ query: { query: string } | string }> };
  };
  let exposed: Scrape;

  before(async () => {
    // A server that has answered requests, so that every labelled series exists.
    const server = await startTestServer();
    try {
      await signUp(server, 'dana', 'dana-password-1');
      await passwordLogin(server, 'dana', 'dana-password-1');
      exposed = (await scrape(`${server.url}/metrics`)).metrics;
    } finally {
      await server.stop();
    }
  });

  it('is a Grafana dashboard of schema 36 or later with a Prometheus datasource input', () => {
    assert.ok(dashboard.schemaVersion >= 36, `schemaVersion ${dashboard.schemaVersion}`);
    assert.deepEqual(
      dashboard.__inputs.map((input) => [input.name, input.type, input.pluginId]),
      [['DS_PROMETHEUS', 'datasource', 'prometheus']],
    );
    const queries = dashboard.panels.filter((panel) => panel.type !== 'row');
    assert.ok(queries.length >= 10, `${queries.length} panels`);
    for (const panel of queries) {
      assert.equal(panel.datasource?.uid, '${DS_PROMETHEUS}', panel.title);
      assert.ok((panel.targets ?? []).length > 0, `${panel.title} has queries`);
      for (const target of panel.targets ?? []) assert.equal(target.datasource?.uid, '${DS_PROMETHEUS}', panel.title);
    }
  });

  it('queries only metrics and labels that /metrics exposes', () => {
    const exprs = [
      ...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr ?? '')),
      ...dashboard.templating.list.map((variable) => (typeof variable.query === 'string' ? variable.query : variable.query.query)),
    ];
    const labelsOf = (name: string) =>
      new Set(exposed.samples.filter((sample) => sample.name === name).flatMap((sample) => Object.keys(sample.labels)));
    // Added by Prometheus at scrape time, not by Portcullis.
    const targetLabels = new Set(['job', 'instance']);
    for (const expr of exprs) {
      const names = [...expr.matchAll(/\b(portcullis_[a-zA-Z0-9_:]+)/g)].map((match) => match[1]!);
      assert.ok(names.length > 0, `no Portcullis metric in ${expr}`);
      for (const name of names) assert.ok(exposed.names.has(name), `${name} is not exposed (in ${expr})`);
      const available = new Set([...targetLabels, ...names.flatMap((name) => [...labelsOf(name)])]);
      const selectorLabels = [...expr.matchAll(/[{,]\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((match) => match[1]!);
      const groupingLabels = [...expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap((match) => match[1]!.split(',').map((label) => label.trim()));
      for (const label of [...selectorLabels, ...groupingLabels])
        assert.ok(available.has(label), `label ${label} is not exposed on ${names.join(', ')} (in ${expr})`);
    }
  });
});

// ---------------------------------------------------------------------------------------------

/** One request on a connection of its own, so that consecutive requests reach different workers. */
function getOnNewConnection(url: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const req = request(url, { agent: false }, (res: IncomingMessage) => {
      res.resume();
      res.on('end', () => resolvePromise(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('GET /metrics of serve --workers 2 with METRICS_PORT', () => {
  const dataDir = makeTempDir('portcullis-metrics-cluster-');
  let child: ChildProcess;
  let stdout = '';
  const lines = () => jsonLines(stdout);
  let url: string;
  let metricsUrl: string;

  before(async () => {
    // The CLI straight from the TypeScript sources: every worker re-runs this entry with the same --import.
    const entry = join(dataDir, 'entry.mjs');
    writeFileSync(
      entry,
      `import { main } from ${JSON.stringify(pathToFileURL(join(REPO_ROOT, 'src', 'cli', 'main.ts')).href)};\nprocess.exitCode = await main(process.argv.slice(2));\n`,
    );
    child = spawn(process.execPath, ['--import', 'tsx', entry, 'serve'], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH,
        WORKERS: '2',
        HOST: '127.0.0.1',
        PORT: '0',
        METRICS_PORT: '0',
        DATA_DIR: dataDir,
        SECRET_KEY: TEST_SECRET_KEY,
        // debug: a request line for every request (at info only failures have one).
        LOG_LEVEL: 'debug',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    await new Promise<void>((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`the cluster did not start\nstdout: ${stdout}\nstderr: ${stderr}`)), 90_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the cluster exited (${code})\nstdout: ${stdout}\nstderr: ${stderr}`));
      });
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        const listening = lines().find((line) => String(line.msg).startsWith('Portcullis listening'));
        const metrics = lines().find((line) => typeof line.metricsUrl === 'string');
        if (listening && metrics) {
          clearTimeout(timer);
          url = String(listening.url);
          metricsUrl = String(metrics.metricsUrl);
          resolvePromise();
        }
      });
    });
  });
  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolvePromise) => child.once('exit', resolvePromise));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is served by the primary, with the sum of both workers, and not on the shared port', async () => {
    const before = lines().filter((line) => line.msg === 'request').length;
    for (let i = 0; i < 6; i += 1) assert.equal(await getOnNewConnection(`${url}/healthz`), 200);
    assert.equal(await getOnNewConnection(`${url}/metrics`), 404);
    // Each worker logs a request (with its pid) after answering it; both must have answered some.
    const deadline = Date.now() + 30_000;
    while (lines().filter((line) => line.msg === 'request').length < before + 7 && Date.now() < deadline) {
      await new Promise((resolvePromise) => setTimeout(resolvePromise, 20));
    }
    const served = lines()
      .filter((line) => line.msg === 'request' && line.route === '/healthz')
      .map((line) => line.pid);
    assert.equal(served.length, 6);
    assert.equal(new Set(served).size, 2, `answered by ${JSON.stringify(served)}`);
    const { metrics } = await scrape(metricsUrl);
    assert.equal(metrics.value('portcullis_http_requests_total', { method: 'GET', route: '/healthz', status: '200' }), 6);
    // One database: the count of either worker, not their sum.
    assert.equal(metrics.value('portcullis_active_sessions'), 0);
  });
});
