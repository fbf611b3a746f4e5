/**
 * The two per-request series, `http_requests_total` (method, route, status) and
 * `http_request_duration_seconds` (method, route, status class), as metrics of a prom-client
 * registry that prom-client formats, scrapes and (in a cluster) aggregates like its own.
 *
 * Why not prom-client's Counter and Histogram: they look up a series from its labels on every
 * update (validation, a key string built from the labels, a map look-up), about 1 µs per request,
 * which on `GET /users/me` was a measurable share of the whole answer (docs/PERFORMANCE.md). Here a
 * request's series are found once per (method, route, status) and an update is a few additions.
 * What they expose is the same: cumulative `le` buckets, `_sum` and `_count`, summed across workers.
 */
import type { Metric, MetricObjectWithValues, MetricValueWithName, Registry } from 'prom-client';
import { methodLabel, statusClass } from './metric-labels.js';

type Labels = Record<string, string | number>;

interface CounterSeries {
  readonly labels: Labels;
  value: number;
}

interface HistogramSeries {
  readonly labels: Labels;
  /** Per bucket (not cumulative); the last one counts what is above every bound (+Inf). */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/** Counts and times one answered request (its series bound once). */
export type RequestObserver = (durationSeconds: number) => void;

export interface RequestMetricsOptions {
  readonly counterName: string;
  readonly counterHelp: string;
  readonly histogramName: string;
  readonly histogramHelp: string;
  /** Upper bounds in seconds, ascending. */
  readonly buckets: readonly number[];
}

export class RequestMetrics {
  private readonly counters = new Map<string, CounterSeries>();
  private readonly histograms = new Map<string, HistogramSeries>();
  private readonly observers = new Map<string, RequestObserver>();
  private readonly bounds: Float64Array;

  constructor(
    registry: Registry,
    private readonly options: RequestMetricsOptions,
  ) {
    for (let i = 1; i < options.buckets.length; i += 1) {
      if (!(options.buckets[i]! > options.buckets[i - 1]!)) throw new TypeError('buckets must be ascending');
    }
    this.bounds = Float64Array.from(options.buckets);
    registry.registerMetric(
      this.metric(options.counterName, options.counterHelp, 'counter', () => this.counterValues(), () => {
        for (const series of this.counters.values()) series.value = 0;
      }),
    );
    registry.registerMetric(
      this.metric(options.histogramName, options.histogramHelp, 'histogram', () => this.histogramValues(), () => {
        for (const series of this.histograms.values()) {
          series.buckets.fill(0);
          series.sum = 0;
          series.count = 0;
        }
      }),
    );
  }

  /** One request answered with `status` on `route` (a route pattern), taking `durationSeconds`. */
  observe(method: string, route: string, status: number, durationSeconds: number): void {
    this.observer(method, route, status)(durationSeconds);
  }

  /** The update for one (method, route, status), to keep where the same three recur. */
  observer(method: string, route: string, status: number): RequestObserver {
    const key = `${method} ${status} ${route}`;
    let observer = this.observers.get(key);
    if (observer === undefined) {
      const verb = methodLabel(method);
      const counter = this.counterSeries({ method: verb, route, status: String(status) });
      const histogram = this.histogramSeries({ method: verb, route, status_class: statusClass(status) });
      const bounds = this.bounds;
      observer = (durationSeconds) => {
        counter.value += 1;
        let bucket = 0;
        // prom-client's `le`: a value equal to a bound is in that bound's bucket.
        while (bucket < bounds.length && durationSeconds > bounds[bucket]!) bucket += 1;
        histogram.buckets[bucket]! += 1;
        histogram.sum += durationSeconds;
        histogram.count += 1;
      };
      this.observers.set(key, observer);
    }
    return observer;
  }

  private counterSeries(labels: Labels): CounterSeries {
    return seriesOf(this.counters, labels, () => ({ labels, value: 0 }));
  }

  private histogramSeries(labels: Labels): HistogramSeries {
    return seriesOf(this.histograms, labels, () => ({ labels, buckets: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 }));
  }

  private counterValues(): MetricValueWithName<string>[] {
    return [...this.counters.values()].map((series) => ({ labels: { ...series.labels }, value: series.value }));
  }

  /** As prom-client's Histogram exports them (`le` first): per series the cumulative buckets, +Inf, _sum, _count. */
  private histogramValues(): MetricValueWithName<string>[] {
    const values: MetricValueWithName<string>[] = [];
    const name = this.options.histogramName;
    for (const series of this.histograms.values()) {
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += series.buckets[i]!;
        values.push({ labels: { le: bound, ...series.labels }, value: cumulative, metricName: `${name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...series.labels }, value: series.count, metricName: `${name}_bucket` });
      values.push({ labels: { ...series.labels }, value: series.sum, metricName: `${name}_sum` });
      values.push({ labels: { ...series.labels }, value: series.count, metricName: `${name}_count` });
    }
    return values;
  }

  /** What a prom-client Registry reads of a metric: its description, get() (scrapes, cluster JSON) and reset(). */
  private metric(
    name: string,
    help: string,
    type: 'counter' | 'histogram',
    values: () => MetricValueWithName<string>[],
    reset: () => void,
  ): Metric {
    const metric = {
      name,
      help,
      type,
      aggregator: 'sum',
      get: async (): Promise<MetricObjectWithValues<MetricValueWithName<string>>> => ({ name, help, type, aggregator: 'sum', values: values() }) as never,
      reset,
    };
    return metric as unknown as Metric;
  }
}

/** The series of these labels in `map`, made by `create` the first time. */
function seriesOf<T>(map: Map<string, T>, labels: Labels, create: () => T): T {
  const key = JSON.stringify(labels);
  let series = map.get(key);
  if (series === undefined) {
    series = create();
    map.set(key, series);
  }
  return series;
}
