/**
 * A shared limiter (Redis) with an in-process one behind it. When the shared
 * one fails, requests are limited in-process instead of failing or hanging;
 * the outage is reported once, and the shared limiter is tried again at most
 * once a probe interval until it answers (then the recovery is reported).
 * During an outage each instance counts on its own: limits are per instance (ADR 0010).
 */
import { systemClock, type Clock } from '../clock.js';
import type { TokenBucketSettings } from '../config.js';
import type { RateDecision, RateLimiter } from '../ports.js';
import { checkConsume } from './token-bucket.js';

export interface FallbackEvents {
  /** The shared limiter failed; called once per outage. */
  onOutage(error: unknown): void;
  /** The shared limiter answers again. */
  onRecovery(): void;
}

export interface FallbackOptions {
  readonly clock?: Clock;
  /** During an outage, how often one request tries the shared limiter again; default 2 s. */
  readonly probeIntervalMs?: number;
}

export class FallbackRateLimiter implements RateLimiter {
  private readonly clock: Clock;
  private readonly probeIntervalMs: number;
  private down = false;
  private nextProbeMs = 0;

  constructor(
    private readonly primary: RateLimiter,
    private readonly fallback: RateLimiter,
    private readonly events: FallbackEvents,
    options: FallbackOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.probeIntervalMs = options.probeIntervalMs ?? 2000;
  }

  /** Whether requests are being limited in-process because the shared limiter failed. */
  get degraded(): boolean {
    return this.down;
  }

  async consume(key: string, bucket: TokenBucketSettings, cost = 1): Promise<RateDecision> {
    checkConsume(bucket, cost); // misuse throws here, so whatever the shared limiter throws is an outage
    if (this.down) {
      const nowMs = this.clock.now();
      if (nowMs < this.nextProbeMs) return this.fallback.consume(key, bucket, cost);
      // This request probes; the others keep to the fallback meanwhile.
      this.nextProbeMs = nowMs + this.probeIntervalMs;
    }
    let decision: RateDecision;
    try {
      decision = await this.primary.consume(key, bucket, cost);
    } catch (error) {
      if (!this.down) {
        this.down = true;
        this.nextProbeMs = this.clock.now() + this.probeIntervalMs;
        this.events.onOutage(error);
      }
      return this.fallback.consume(key, bucket, cost);
    }
    if (this.down) {
      this.down = false;
      this.events.onRecovery();
    }
    return decision;
  }
}
