/**
 * Token-bucket arithmetic, shared by the in-process limiter and (mirrored line
 * for line in Lua) the Redis one. A bucket holds up to `burst` tokens and
 * gains `perMinute / 60` a second; a request takes `cost` tokens if the bucket
 * holds them, and a refused request takes nothing. Pure: time is a parameter.
 */
import type { TokenBucketSettings } from '../config.js';
import type { RateDecision } from '../ports.js';

export interface BucketState {
  /** Tokens held at `updatedMs`; fractional. */
  readonly tokens: number;
  readonly updatedMs: number;
}

export interface BucketStep {
  readonly state: BucketState;
  readonly decision: RateDecision;
  /** When the bucket will be full again (and its state can be forgotten). */
  readonly fullAtMs: number;
}

/** Floating-point slack: 60 tokens a minute for 1000 ms must count as one whole token. */
const EPSILON = 1e-9;

/** Misuse is a TypeError: a cost the bucket can never hold would be refused forever. */
export function checkConsume(bucket: TokenBucketSettings, cost: number): void {
  if (!(bucket.burst >= 1 && Number.isFinite(bucket.burst)) || !(bucket.perMinute > 0 && Number.isFinite(bucket.perMinute))) {
    throw new TypeError(`Invalid token bucket: burst ${bucket.burst}, perMinute ${bucket.perMinute}`);
  }
  if (!Number.isInteger(cost) || cost < 1 || cost > bucket.burst) {
    throw new TypeError(`Rate limit cost must be a whole number from 1 to the burst (${bucket.burst}); got ${cost}`);
  }
}

function ratePerMs(bucket: TokenBucketSettings): number {
  return bucket.perMinute / 60_000;
}

/** Tokens at `nowMs`: an absent state is a full bucket; a clock that steps back adds nothing. */
export function refill(state: BucketState | undefined, bucket: TokenBucketSettings, nowMs: number): BucketState {
  if (state === undefined) return { tokens: bucket.burst, updatedMs: nowMs };
  const elapsedMs = Math.max(0, nowMs - state.updatedMs);
  return {
    tokens: Math.min(bucket.burst, state.tokens + elapsedMs * ratePerMs(bucket)),
    updatedMs: Math.max(state.updatedMs, nowMs),
  };
}

function secondsToGain(tokens: number, bucket: TokenBucketSettings): number {
  if (tokens <= EPSILON) return 0;
  return Math.max(1, Math.ceil(tokens / ratePerMs(bucket) / 1000 - EPSILON));
}

/** The decision from the outcome: whether `cost` was taken, and the tokens left. */
export function describeBucket(allowed: boolean, tokensAfter: number, bucket: TokenBucketSettings, cost: number): RateDecision {
  return {
    allowed,
    limit: bucket.burst,
    remaining: Math.max(0, Math.floor(tokensAfter + EPSILON)),
    resetSeconds: secondsToGain(bucket.burst - tokensAfter, bucket),
    retryAfterSeconds: allowed ? 0 : Math.max(1, secondsToGain(cost - tokensAfter, bucket)),
  };
}

/** One request against a bucket: the new state and the decision. */
export function takeTokens(state: BucketState | undefined, bucket: TokenBucketSettings, cost: number, nowMs: number): BucketStep {
  const current = refill(state, bucket, nowMs);
  const allowed = current.tokens + EPSILON >= cost;
  const tokens = allowed ? Math.max(0, current.tokens - cost) : current.tokens;
  return {
    state: { tokens, updatedMs: current.updatedMs },
    decision: describeBucket(allowed, tokens, bucket, cost),
    fullAtMs: current.updatedMs + Math.max(0, bucket.burst - tokens) / ratePerMs(bucket),
  };
}
