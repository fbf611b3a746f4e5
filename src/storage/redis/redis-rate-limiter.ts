/**
 * Token buckets in Redis, shared by every instance. One Lua script does the
 * whole step atomically, on the Redis server's clock (TIME), so instances with
 * skewed clocks agree: the same arithmetic as core/rate-limit/token-bucket.ts,
 * which then turns (allowed, tokens left) into the decision. A bucket is a
 * hash {tokens, updated} that expires once it would have refilled.
 */
import type { Redis, Result } from 'ioredis';
import type { TokenBucketSettings } from '../../core/config.js';
import type { RateDecision, RateLimiter } from '../../core/ports.js';
import { checkConsume, describeBucket } from '../../core/rate-limit/token-bucket.js';

export const RATE_LIMIT_KEY_PREFIX = 'portcullis:rl:';

/** KEYS[1]: the bucket. ARGV: burst, perMinute, cost. Returns {allowed 0|1, tokens left as a string}. */
export const TAKE_TOKENS_LUA = `
local burst = tonumber(ARGV[1])
local ratePerMs = tonumber(ARGV[2]) / 60000
local cost = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local tokens = burst
local updated = now
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local oldTokens = tonumber(state[1])
local oldUpdated = tonumber(state[2])
if oldTokens and oldUpdated then
  tokens = math.min(burst, oldTokens + math.max(0, now - oldUpdated) * ratePerMs)
  updated = math.max(oldUpdated, now)
end
local allowed = 0
if tokens + 1e-9 >= cost then
  allowed = 1
  tokens = math.max(0, tokens - cost)
end
local left = string.format('%.17g', tokens)
redis.call('HSET', KEYS[1], 'tokens', left, 'updated', string.format('%d', updated))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / ratePerMs) + 1000)
return {allowed, left}
`;

const COMMAND = 'portcullisTakeTokens';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    portcullisTakeTokens(key: string, burst: number, perMinute: number, cost: number): Result<[number, string], Context>;
  }
}

export interface RedisRateLimiterOptions {
  /** Prepended to every key; default `portcullis:rl:`. */
  readonly keyPrefix?: string;
}

export class RedisRateLimiter implements RateLimiter {
  private readonly keyPrefix: string;

  /** The connection stays the caller's to close. */
  constructor(
    private readonly redis: Redis,
    options: RedisRateLimiterOptions = {},
  ) {
    this.keyPrefix = options.keyPrefix ?? RATE_LIMIT_KEY_PREFIX;
    // EVALSHA, falling back to EVAL when the server does not have the script yet.
    if (typeof (redis as unknown as Partial<Record<string, unknown>>)[COMMAND] !== 'function') {
      redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: TAKE_TOKENS_LUA });
    }
  }

  async consume(key: string, bucket: TokenBucketSettings, cost = 1): Promise<RateDecision> {
    checkConsume(bucket, cost);
    const [allowed, left] = await this.redis.portcullisTakeTokens(`${this.keyPrefix}${key}`, bucket.burst, bucket.perMinute, cost);
    return describeBucket(allowed === 1, Number(left), bucket, cost);
  }
}
