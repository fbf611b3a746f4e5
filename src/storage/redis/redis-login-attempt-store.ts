/**
 * Login bookkeeping in Redis, shared by every instance. Each step is one Lua
 * script, so it is atomic. A pair is a hash {count, last} that expires
 * `pairTtlMs` after its last failure; a source is a sorted set of accounts
 * scored by the time of their last failure (a sliding window: members older
 * than the window are dropped, the set expires with its newest member); an
 * audit claim is SET NX PX. Times come from the caller (core's clock), as in
 * the in-process store. Keys start with `portcullis:login:`.
 */
import type { Redis, Result } from 'ioredis';
import type { LoginAttemptStore, LoginAttemptView, LoginFailureRecord, LoginFailures } from '../../core/ports.js';

export const LOGIN_KEY_PREFIX = 'portcullis:login:';
/** Distinct accounts remembered per source (the newest); the spraying threshold is far below. */
const MAX_ACCOUNTS_PER_SOURCE = 1000;

/** KEYS: pair, source. ARGV: now, pairTtlMs, account, windowMs, maxAccounts, windowStart. Returns {count, last}. */
export const RECORD_FAILURE_LUA = `
local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
local last = redis.call('HGET', KEYS[1], 'last')
if not last or tonumber(ARGV[1]) >= tonumber(last) then
  redis.call('HSET', KEYS[1], 'last', ARGV[1])
  last = ARGV[1]
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[6])
local size = redis.call('ZCARD', KEYS[2])
local max = tonumber(ARGV[5])
if size > max then redis.call('ZREMRANGEBYRANK', KEYS[2], 0, size - max - 1) end
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return {count, last}
`;

/** KEYS: pair, source. ARGV: exclusive window start ('(' .. ms). Returns {count|false, last|false, accounts, oldest|false}. */
export const INSPECT_LUA = `
local state = redis.call('HMGET', KEYS[1], 'count', 'last')
local accounts = redis.call('ZCOUNT', KEYS[2], ARGV[1], '+inf')
local oldest = redis.call('ZRANGEBYSCORE', KEYS[2], ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
return {state[1], state[2], accounts, oldest[2] or false}
`;

const RECORD = 'portcullisLoginFailure';
const INSPECT = 'portcullisLoginInspect';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    portcullisLoginFailure(
      pair: string,
      source: string,
      now: number,
      pairTtlMs: number,
      account: string,
      windowMs: number,
      maxAccounts: number,
      windowStart: number,
    ): Result<[number, string], Context>;
    portcullisLoginInspect(
      pair: string,
      source: string,
      windowStart: string,
    ): Result<[string | null, string | null, number, string | null], Context>;
  }
}

export interface RedisLoginAttemptStoreOptions {
  /** Prepended to every key; default `portcullis:login:`. */
  readonly keyPrefix?: string;
}

export class RedisLoginAttemptStore implements LoginAttemptStore {
  private readonly keyPrefix: string;

  /** The connection stays the caller's to close. */
  constructor(
    private readonly redis: Redis,
    options: RedisLoginAttemptStoreOptions = {},
  ) {
    this.keyPrefix = options.keyPrefix ?? LOGIN_KEY_PREFIX;
    const commands = redis as unknown as Partial<Record<string, unknown>>;
    if (typeof commands[RECORD] !== 'function') redis.defineCommand(RECORD, { numberOfKeys: 2, lua: RECORD_FAILURE_LUA });
    if (typeof commands[INSPECT] !== 'function') redis.defineCommand(INSPECT, { numberOfKeys: 2, lua: INSPECT_LUA });
  }

  async inspect(pairKey: string, sourceKey: string, nowMs: number, sprayWindowMs: number): Promise<LoginAttemptView> {
    const [count, last, accounts, oldest] = await this.redis.portcullisLoginInspect(
      this.pairKey(pairKey),
      this.sourceKey(sourceKey),
      `(${Math.floor(nowMs - sprayWindowMs)}`,
    );
    const failures = count !== null && last !== null ? { count: Number(count), lastAt: Number(last) } : undefined;
    return { failures, sprayAccounts: Number(accounts), sprayOldestAt: oldest === null ? undefined : Number(oldest) };
  }

  async recordFailure(failure: LoginFailureRecord): Promise<LoginFailures> {
    const { nowMs, sprayWindowMs } = failure;
    const [count, last] = await this.redis.portcullisLoginFailure(
      this.pairKey(failure.pairKey),
      this.sourceKey(failure.sourceKey),
      Math.floor(nowMs),
      Math.max(1, Math.ceil(failure.pairTtlMs)),
      failure.accountKey,
      Math.max(1, Math.ceil(sprayWindowMs)),
      MAX_ACCOUNTS_PER_SOURCE,
      Math.floor(nowMs - sprayWindowMs),
    );
    return { count: Number(count), lastAt: Number(last) };
  }

  async clearFailures(pairKey: string): Promise<void> {
    await this.redis.del(this.pairKey(pairKey));
  }

  async claimOnce(key: string, _nowMs: number, ttlMs: number): Promise<boolean> {
    const answer = await this.redis.set(`${this.keyPrefix}c:${key}`, '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX');
    return answer === 'OK';
  }

  private pairKey(key: string): string {
    return `${this.keyPrefix}f:${key}`;
  }

  private sourceKey(key: string): string {
    return `${this.keyPrefix}s:${key}`;
  }
}
