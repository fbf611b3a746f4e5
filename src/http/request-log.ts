/**
 * The request log, written by the Fastify hook (app.ts) and by the /users/me fast path alike: a line per
 * request with its id, method, route pattern, status and latency, never headers, bodies or query strings. At
 * `info`, the default, a failure (status ≥ 400) gets its line and successes are counted into a `"msg":
 * "requests"` summary once a minute and at close; LOG_LEVEL=debug writes every line (ADR 0019).
 */
import type { FastifyBaseLogger } from 'fastify';

export const REQUEST_LOG_MESSAGE = 'request';
export const REQUEST_SUMMARY_MESSAGE = 'requests';
export const SUMMARY_INTERVAL_MS = 60_000;

const LEVELS_WITH_INFO: ReadonlySet<string> = new Set(['trace', 'debug', 'info']);

/** Whether a logger at this level writes anything of the request log. */
export function logsRequests(level: string): boolean {
  return LEVELS_WITH_INFO.has(level);
}

type StatusClass = '1xx' | '2xx' | '3xx';

export class RequestLog {
  /** Whether a successful request gets a line of its own (LOG_LEVEL debug or trace); else it is only counted. */
  readonly linesForSuccesses: boolean;
  private count = 0;
  private latencySumMs = 0;
  private latencyMaxMs = 0;
  private byStatus: Partial<Record<StatusClass, number>> = {};
  private sinceMs: number;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly log: FastifyBaseLogger,
    private readonly now: () => number = Date.now,
  ) {
    this.linesForSuccesses = log.level === 'debug' || log.level === 'trace';
    this.sinceMs = now();
    this.timer = setInterval(() => this.summarise(), SUMMARY_INTERVAL_MS);
    this.timer.unref();
  }

  /** `bindings`: what `log` does not bind already (a request's own logger binds its id; the default one does not). */
  record(
    bindings: { readonly reqId?: string },
    method: string,
    route: string,
    status: number,
    latencyMs: number,
    log: FastifyBaseLogger = this.log,
  ): void {
    if (status >= 400) {
      log.info(line(bindings, method, route, status, latencyMs), REQUEST_LOG_MESSAGE);
      return;
    }
    if (this.linesForSuccesses) log.debug(line(bindings, method, route, status, latencyMs), REQUEST_LOG_MESSAGE);
    this.count += 1;
    this.latencySumMs += latencyMs;
    if (latencyMs > this.latencyMaxMs) this.latencyMaxMs = latencyMs;
    const statusClass = `${Math.floor(status / 100)}xx` as StatusClass;
    this.byStatus[statusClass] = (this.byStatus[statusClass] ?? 0) + 1;
  }

  /** Writes the summary of the successes since the last one (nothing when there were none). */
  summarise(): void {
    const now = this.now();
    if (this.count > 0) {
      this.log.info(
        {
          seconds: Math.round((now - this.sinceMs) / 1000),
          count: this.count,
          status: this.byStatus,
          latencyMs: { mean: round(this.latencySumMs / this.count), max: round(this.latencyMaxMs) },
        },
        REQUEST_SUMMARY_MESSAGE,
      );
    }
    this.count = 0;
    this.latencySumMs = 0;
    this.latencyMaxMs = 0;
    this.byStatus = {};
    this.sinceMs = now;
  }

  /** The last summary, and no more timer. */
  close(): void {
    clearInterval(this.timer);
    this.summarise();
  }
}

function line(bindings: { readonly reqId?: string }, method: string, route: string, status: number, latencyMs: number): object {
  return { ...bindings, method, route, status, latencyMs: round(latencyMs) };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
