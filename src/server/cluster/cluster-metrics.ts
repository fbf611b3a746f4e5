/**
 * Metrics of `serve --workers N`. Each worker counts in a registry of its
 * own, so a scrape of /metrics on the shared port reads whichever worker the
 * connection lands on. With METRICS_PORT the primary serves /metrics there
 * instead: at each scrape it asks every worker for its metrics over the
 * cluster IPC channel (prom-client's AggregatorRegistry) and answers their
 * aggregate: counters and histograms summed, process metrics by their own
 * aggregators, the active-session count (one database) as the highest.
 * A worker that does not answer within 5 s (one still starting) fails the
 * scrape with 500; the next one succeeds (ADR 0013, 0017).
 */
import { AggregatorRegistry } from 'prom-client';
import type { Logger } from 'pino';
import type { PortcullisConfig } from '../config.js';
import type { PortcullisMetrics } from '../../http/metrics/portcullis-metrics.js';

/** In the primary: serves the workers' aggregate on METRICS_PORT, if set; resolves with the way to stop it. */
export async function serveClusterMetrics(config: PortcullisConfig, log: Logger): Promise<() => Promise<void>> {
  const settings = config.metrics;
  if (!settings.enabled || settings.port === undefined) return async () => undefined;
  const aggregator = new AggregatorRegistry();
  // Loaded here, not at start: without METRICS_PORT the primary loads no HTTP framework at all.
  const { startMetricsServer } = await import('../../http/metrics/metrics-server.js');
  const server = await startMetricsServer({
    host: config.host,
    port: settings.port,
    token: settings.token,
    endpoint: { contentType: aggregator.contentType, scrape: () => aggregator.clusterMetrics() },
    logger: log,
  });
  log.info({ metricsUrl: server.url }, `metrics of all workers on ${server.url}`);
  return () => server.close();
}

/** In a worker: answers the primary's requests for metrics with this server's registry. */
export function shareMetricsWithPrimary(metrics: PortcullisMetrics): void {
  // The constructor installs prom-client's IPC listener (once per process); the registry is what it reads.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([metrics.registry]);
}
