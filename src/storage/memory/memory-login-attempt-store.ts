/**
 * In-process login bookkeeping (one instance, or Redis's fallback). Bounded:
 * expired records are swept at most once a sweep interval, and past `maxKeys`
 * (per map) the least recently written record goes, so a flood of new
 * accounts or addresses costs a fixed amount of memory. Each source keeps at
 * most `maxAccountsPerSource` accounts (the newest); the spraying threshold
 * is far below that.
 */
import type { LoginAttemptStore, LoginAttemptView, LoginFailureRecord, LoginFailures } from '../../core/ports.js';

export interface MemoryLoginAttemptStoreOptions {
  /** Most records held in each map (pairs, sources, audit claims); default 100 000. */
  readonly maxKeys?: number;
  /** Distinct accounts remembered per source; default 1000. */
  readonly maxAccountsPerSource?: number;
  /** How often expired records are dropped; default a minute. */
  readonly sweepIntervalMs?: number;
}

interface PairEntry extends LoginFailures {
  readonly expiresAt: number;
}

interface SourceEntry {
  /** account key → time of its last failure from this source. */
  readonly accounts: Map<string, number>;
  expiresAt: number;
}

export class MemoryLoginAttemptStore implements LoginAttemptStore {
  private readonly pairs = new Map<string, PairEntry>();
  private readonly sources = new Map<string, SourceEntry>();
  private readonly claims = new Map<string, number>();
  private readonly maxKeys: number;
  private readonly maxAccountsPerSource: number;
  private readonly sweepIntervalMs: number;
  private nextSweepMs = 0;

  constructor(options: MemoryLoginAttemptStoreOptions = {}) {
    this.maxKeys = options.maxKeys ?? 100_000;
    this.maxAccountsPerSource = options.maxAccountsPerSource ?? 1000;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    for (const [name, value] of Object.entries({ maxKeys: this.maxKeys, maxAccountsPerSource: this.maxAccountsPerSource })) {
      if (!Number.isInteger(value) || value < 1) throw new TypeError(`${name} must be a positive whole number`);
    }
  }

  /** Records held (pairs, sources, claims), for tests and metrics. */
  get size(): { pairs: number; sources: number; claims: number } {
    return { pairs: this.pairs.size, sources: this.sources.size, claims: this.claims.size };
  }

  async inspect(pairKey: string, sourceKey: string, nowMs: number, sprayWindowMs: number): Promise<LoginAttemptView> {
    const pair = this.pairs.get(pairKey);
    const failures = pair && pair.expiresAt > nowMs ? { count: pair.count, lastAt: pair.lastAt } : undefined;
    let sprayAccounts = 0;
    let sprayOldestAt: number | undefined;
    const source = this.sources.get(sourceKey);
    if (source) {
      const since = nowMs - sprayWindowMs;
      for (const at of source.accounts.values()) {
        if (at <= since) continue;
        sprayAccounts += 1;
        if (sprayOldestAt === undefined || at < sprayOldestAt) sprayOldestAt = at;
      }
    }
    return { failures, sprayAccounts, sprayOldestAt };
  }

  async recordFailure(failure: LoginFailureRecord): Promise<LoginFailures> {
    const { pairKey, sourceKey, accountKey, nowMs, pairTtlMs, sprayWindowMs } = failure;
    this.sweep(nowMs);
    const previous = this.pairs.get(pairKey);
    const count = previous && previous.expiresAt > nowMs ? previous.count + 1 : 1;
    const lastAt = Math.max(nowMs, previous?.lastAt ?? 0);
    this.pairs.delete(pairKey);
    this.pairs.set(pairKey, { count, lastAt, expiresAt: nowMs + pairTtlMs });
    evictOldest(this.pairs, this.maxKeys);

    let source = this.sources.get(sourceKey);
    if (source) this.sources.delete(sourceKey);
    else source = { accounts: new Map(), expiresAt: 0 };
    source.accounts.delete(accountKey);
    source.accounts.set(accountKey, nowMs);
    const since = nowMs - sprayWindowMs;
    for (const [account, at] of source.accounts) {
      if (at <= since) source.accounts.delete(account);
    }
    evictOldest(source.accounts, this.maxAccountsPerSource);
    source.expiresAt = nowMs + sprayWindowMs;
    this.sources.set(sourceKey, source);
    evictOldest(this.sources, this.maxKeys);
    return { count, lastAt };
  }

  async clearFailures(pairKey: string): Promise<void> {
    this.pairs.delete(pairKey);
  }

  async claimOnce(key: string, nowMs: number, ttlMs: number): Promise<boolean> {
    this.sweep(nowMs);
    const until = this.claims.get(key);
    if (until !== undefined && until > nowMs) return false;
    this.claims.delete(key);
    this.claims.set(key, nowMs + ttlMs);
    evictOldest(this.claims, this.maxKeys);
    return true;
  }

  private sweep(nowMs: number): void {
    if (nowMs < this.nextSweepMs) return;
    this.nextSweepMs = nowMs + this.sweepIntervalMs;
    for (const [key, entry] of this.pairs) if (entry.expiresAt <= nowMs) this.pairs.delete(key);
    for (const [key, entry] of this.sources) if (entry.expiresAt <= nowMs) this.sources.delete(key);
    for (const [key, until] of this.claims) if (until <= nowMs) this.claims.delete(key);
  }
}

/** Maps keep insertion order and writers re-insert, so the first keys are the least recently written. */
function evictOldest<K, V>(map: Map<K, V>, max: number): void {
  while (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done === true) return;
    map.delete(oldest.value);
  }
}
