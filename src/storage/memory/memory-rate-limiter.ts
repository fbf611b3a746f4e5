/**
 * In-process token buckets: a Map refilled lazily on each request. Bounded:
 * buckets that have refilled to full are swept at most once a sweep interval
 * (a full bucket and no bucket are the same thing), and past `maxKeys` the
 * least recently used bucket goes, so a flood of new keys costs a fixed
 * amount of memory. Used alone (one instance) or as Redis's fallback.
 */
import { systemClock, type Clock } from '../../core/clock.js';
import type { TokenBucketSettings } from '../../core/config.js';
import type { RateDecision, RateLimiter } from '../../core/ports.js';
import { checkConsume, takeTokens, type BucketState } from '../../core/rate-limit/token-bucket.js';

export interface MemoryRateLimiterOptions {
  readonly clock?: Clock;
  /** Most buckets held; default 100 000 (roughly 15 MB). */
  readonly maxKeys?: number;
  /** How often full buckets are dropped; default a minute. */
  readonly sweepIntervalMs?: number;
}

interface Entry {
  readonly state: BucketState;
  readonly fullAtMs: number;
}

export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, Entry>();
  private readonly clock: Clock;
  private readonly maxKeys: number;
  private readonly sweepIntervalMs: number;
  private nextSweepMs: number;

  constructor(options: MemoryRateLimiterOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.maxKeys = options.maxKeys ?? 100_000;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    if (!Number.isInteger(this.maxKeys) || this.maxKeys < 1) throw new TypeError('maxKeys must be a positive whole number');
    this.nextSweepMs = this.clock.now() + this.sweepIntervalMs;
  }

  /** Buckets held now (full ones may linger until the next sweep). */
  get size(): number {
    return this.buckets.size;
  }

  async consume(key: string, bucket: TokenBucketSettings, cost = 1): Promise<RateDecision> {
    checkConsume(bucket, cost);
    const nowMs = this.clock.now();
    if (nowMs >= this.nextSweepMs) this.sweep(nowMs);
    const step = takeTokens(this.buckets.get(key)?.state, bucket, cost, nowMs);
    // Delete and set again: the Map's order is then least recently used first.
    this.buckets.delete(key);
    this.buckets.set(key, { state: step.state, fullAtMs: step.fullAtMs });
    if (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next();
      if (!oldest.done) this.buckets.delete(oldest.value);
    }
    return step.decision;
  }

  /** Drops the buckets that have refilled to full by now. */
  sweep(nowMs = this.clock.now()): void {
    for (const [key, entry] of this.buckets) {
      if (entry.fullAtMs <= nowMs) this.buckets.delete(key);
    }
    this.nextSweepMs = nowMs + this.sweepIntervalMs;
  }
}
