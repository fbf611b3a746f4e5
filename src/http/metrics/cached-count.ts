import type { Clock } from '../../core/clock.js';

/**
 * A count that is expensive to take (a database query), taken at most once
 * per `maxAgeMs` however often it is asked for: concurrent askers share one
 * query, and later ones get the cached answer. A failed query answers
 * undefined and is cached like a success, so scrapes during a database
 * outage do not pile up on it.
 */
export class CachedValue<T> {
  private value: T | undefined;
  private takenAt = Number.NEGATIVE_INFINITY;
  private pending: Promise<T | undefined> | undefined;

  constructor(
    private readonly count: (nowMs: number) => Promise<T>,
    private readonly clock: Clock,
    private readonly maxAgeMs: number,
  ) {}

  get(): Promise<T | undefined> {
    const now = this.clock.now();
    if (now - this.takenAt < this.maxAgeMs) return Promise.resolve(this.value);
    this.pending ??= this.count(now).then(
      (value) => this.settle(now, value),
      () => this.settle(now, undefined),
    );
    return this.pending;
  }

  private settle(takenAt: number, value: T | undefined): T | undefined {
    this.value = value;
    this.takenAt = takenAt;
    this.pending = undefined;
    return value;
  }
}

/** The count of sessions and the like. */
export class CachedCount extends CachedValue<number> {}
