import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import { methodLabel, statusClass } from './metric-labels.js';
import { RequestMetrics } from './request-metrics.js';

const BUCKETS = [0.001, 0.005, 0.01, 0.5];
const OPTIONS = {
  counterName: 'test_http_requests_total',
  counterHelp: 'Requests.',
  histogramName: 'test_http_request_duration_seconds',
  histogramHelp: 'Durations.',
  buckets: BUCKETS,
};

type Request = [method: string, route: string, status: number, seconds: number];

/** The same requests, observed with prom-client's own Counter and Histogram. */
function withPromClient(requests: readonly Request[]): Registry {
  const registry = new Registry();
  const counter = new Counter({ name: OPTIONS.counterName, help: OPTIONS.counterHelp, labelNames: ['method', 'route', 'status'], registers: [registry] });
  const histogram = new Histogram({
    name: OPTIONS.histogramName,
    help: OPTIONS.histogramHelp,
    labelNames: ['method', 'route', 'status_class'],
    buckets: BUCKETS,
    registers: [registry],
  });
  for (const [method, route, status, seconds] of requests) {
    counter.inc({ method: methodLabel(method), route, status: String(status) });
    histogram.observe({ method: methodLabel(method), route, status_class: statusClass(status) }, seconds);
  }
  return registry;
}

function withRequestMetrics(requests: readonly Request[]): { registry: Registry; metrics: RequestMetrics } {
  const registry = new Registry();
  const metrics = new RequestMetrics(registry, OPTIONS);
  for (const [method, route, status, seconds] of requests) metrics.observe(method, route, status, seconds);
  return { registry, metrics };
}

const REQUESTS: Request[] = [
  ['GET', '/users/me', 200, 0.0003],
  ['GET', '/users/me', 200, 0.001], // on a bound: in that bound's bucket, as prom-client counts it
  ['GET', '/users/me', 401, 0.002],
  ['POST', '/token', 200, 0.2],
  ['POST', '/token', 200, 7], // above every bound: +Inf only
  ['POST', '/token', 429, 0.0001],
  ['PATCH', '/users/{name}', 204, 0.004],
  ['PURGE', '__unmatched__', 404, 0.0002],
];

describe('RequestMetrics', () => {
  it("exposes exactly the text prom-client's Counter and Histogram expose for the same requests", async () => {
    assert.equal(await withRequestMetrics(REQUESTS).registry.metrics(), await withPromClient(REQUESTS).metrics());
  });

  it('counts through a kept observer as through observe()', async () => {
    const { registry, metrics } = withRequestMetrics([]);
    const observe = metrics.observer('GET', '/users/me', 200);
    assert.equal(metrics.observer('GET', '/users/me', 200), observe, 'one observer per (method, route, status)');
    observe(0.0003);
    observe(0.001);
    for (const request of REQUESTS.slice(2)) metrics.observe(...request);
    assert.equal(await registry.metrics(), await withPromClient(REQUESTS).metrics());
  });

  it("sums two processes' series as a cluster's primary does", async () => {
    const first = withRequestMetrics(REQUESTS.slice(0, 4)).registry;
    const second = withRequestMetrics(REQUESTS.slice(4)).registry;
    const aggregated = AggregatorRegistry.aggregate([await first.getMetricsAsJSON(), await second.getMetricsAsJSON()]);
    const expected = AggregatorRegistry.aggregate([await withPromClient(REQUESTS).getMetricsAsJSON()]);
    assert.equal(await aggregated.metrics(), await expected.metrics());
  });

  it('starts again from zero when the registry is reset', async () => {
    const { registry } = withRequestMetrics(REQUESTS);
    registry.resetMetrics();
    const text = await registry.metrics();
    assert.match(text, /^test_http_requests_total\{method="GET",route="\/users\/me",status="200"\} 0$/m);
    assert.match(text, /^test_http_request_duration_seconds_count\{method="POST",route="\/token",status_class="2xx"\} 0$/m);
  });

  it('refuses buckets that are not ascending', () => {
    assert.throws(() => new RequestMetrics(new Registry(), { ...OPTIONS, buckets: [0.1, 0.01] }), /ascending/);
  });
});
