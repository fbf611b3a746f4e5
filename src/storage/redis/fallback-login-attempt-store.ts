/**
 * Login bookkeeping in Redis with an in-process fallback: when a command fails (down, timed out) it carries on
 * in memory, so logins neither fail nor lose their defences. Each outage and its end are reported once, and
 * Redis is tried again at most every `retryIntervalMs`; what was counted in memory meanwhile stays there
 * (ADR 0010).
 */
import { systemClock, type Clock } from '../../core/clock.js';
import type { LoginAttemptStore, LoginAttemptView, LoginFailureRecord, LoginFailures } from '../../core/ports.js';

export interface StoreOutageEvents {
  onOutage(error: unknown): void;
  onRecovery(): void;
}

export interface FallbackLoginAttemptStoreOptions {
  /** While down, how often Redis is tried again; default 2 s. */
  readonly retryIntervalMs?: number;
  /** Measures that interval; default the system clock. */
  readonly clock?: Clock;
}

export class FallbackLoginAttemptStore implements LoginAttemptStore {
  private down = false;
  private retryAtMs = 0;
  private readonly retryIntervalMs: number;
  private readonly clock: Clock;

  constructor(
    private readonly primary: LoginAttemptStore,
    private readonly fallback: LoginAttemptStore,
    private readonly events: StoreOutageEvents,
    options: FallbackLoginAttemptStoreOptions = {},
  ) {
    this.retryIntervalMs = options.retryIntervalMs ?? 2000;
    this.clock = options.clock ?? systemClock;
  }

  /** Whether the fallback is in use. */
  get degraded(): boolean {
    return this.down;
  }

  inspect(pairKey: string, sourceKey: string, nowMs: number, sprayWindowMs: number): Promise<LoginAttemptView> {
    return this.run((store) => store.inspect(pairKey, sourceKey, nowMs, sprayWindowMs));
  }

  recordFailure(failure: LoginFailureRecord): Promise<LoginFailures> {
    return this.run((store) => store.recordFailure(failure));
  }

  clearFailures(pairKey: string): Promise<void> {
    return this.run((store) => store.clearFailures(pairKey));
  }

  claimOnce(key: string, nowMs: number, ttlMs: number): Promise<boolean> {
    return this.run((store) => store.claimOnce(key, nowMs, ttlMs));
  }

  private async run<T>(operation: (store: LoginAttemptStore) => Promise<T>): Promise<T> {
    if (this.down && this.clock.now() < this.retryAtMs) return operation(this.fallback);
    try {
      const result = await operation(this.primary);
      if (this.down) {
        this.down = false;
        this.events.onRecovery();
      }
      return result;
    } catch (error) {
      if (!this.down) {
        this.down = true;
        this.events.onOutage(error);
      }
      this.retryAtMs = this.clock.now() + this.retryIntervalMs;
      return operation(this.fallback);
    }
  }
}
