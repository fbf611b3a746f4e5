import type { Clock } from '../clock.js';
import { OverloadedError } from '../errors.js';

/**
 * Bounded concurrency and admission control for expensive work (password
 * hashing): at most `concurrency` tasks run at once and at most `queueLimit`
 * wait. With `maxWaitMs`, a task is also refused at once when the queue ahead
 * of it would, by a running estimate of the task time, keep it waiting longer
 * than that; and a task that has waited that long anyway (the estimate was
 * low) leaves the queue with OverloadedError. Either way the caller learns at
 * once, instead of every caller's latency growing with the queue.
 */
export interface WorkLimiterOptions {
  /** The longest a task may wait for a slot; undefined = no bound beyond `queueLimit`. */
  readonly maxWaitMs?: number;
  /** Measures task and wait times; default: a monotonic clock. */
  readonly clock?: Clock;
  /** Weight of the newest sample in the moving averages (0 < alpha <= 1). */
  readonly smoothing?: number;
}

/** Counters for metrics: a snapshot. */
export interface WorkLimiterStats {
  readonly running: number;
  readonly queued: number;
  /** Tasks finished (successfully or not) since start. */
  readonly completed: number;
  /** Tasks refused with OverloadedError since start, at admission or after waiting too long. */
  readonly rejected: number;
  /** Of `rejected`: those that waited the full `maxWaitMs` in the queue first. */
  readonly timedOut: number;
  /** Moving average of the time tasks waited for a slot (0 for those that started at once). */
  readonly averageWaitMs: number;
  /** Moving average of the time a task runs; 0 until one finished. */
  readonly averageTaskMs: number;
}

interface Waiter {
  /** Hands the waiter a slot. */
  readonly start: () => void;
}

const monotonicClock: Clock = { now: () => performance.now() };
const DEFAULT_SMOOTHING = 0.2;

export class WorkLimiter {
  readonly maxWaitMs: number | undefined;
  private readonly clock: Clock;
  private readonly alpha: number;
  private active = 0;
  private readonly waiting: Waiter[] = [];
  private completedCount = 0;
  private rejectedCount = 0;
  private timedOutCount = 0;
  private waitAverage: number | undefined;
  private taskAverage: number | undefined;
  private waitListeners: ReadonlyArray<(waitMs: number) => void> = [];

  constructor(
    readonly concurrency: number,
    readonly queueLimit: number,
    options: WorkLimiterOptions = {},
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new TypeError('concurrency must be a positive integer');
    if (!Number.isInteger(queueLimit) || queueLimit < 0) throw new TypeError('queueLimit must be a non-negative integer');
    const { maxWaitMs, smoothing = DEFAULT_SMOOTHING } = options;
    if (maxWaitMs !== undefined && !(Number.isFinite(maxWaitMs) && maxWaitMs > 0)) {
      throw new TypeError('maxWaitMs must be a positive number');
    }
    if (!(smoothing > 0 && smoothing <= 1)) throw new TypeError('smoothing must be in (0, 1]');
    this.maxWaitMs = maxWaitMs;
    this.clock = options.clock ?? monotonicClock;
    this.alpha = smoothing;
  }

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  stats(): WorkLimiterStats {
    return {
      running: this.active,
      queued: this.waiting.length,
      completed: this.completedCount,
      rejected: this.rejectedCount,
      timedOut: this.timedOutCount,
      averageWaitMs: this.waitAverage ?? 0,
      averageTaskMs: this.taskAverage ?? 0,
    };
  }

  /**
   * Tells `listener` each task's wait for a slot, in ms (0 for one that started at once, `maxWaitMs`
   * for one that gave up), so metrics can keep the distribution, not only the average. Returns the removal.
   */
  observeWaits(listener: (waitMs: number) => void): () => void {
    this.waitListeners = [...this.waitListeners, listener];
    return () => {
      this.waitListeners = this.waitListeners.filter((existing) => existing !== listener);
    };
  }

  /**
   * How long a task queued now would wait: the work queued ahead of it plus
   * itself, spread over the slots, at the average task time. 0 while a slot is
   * free or before any task has finished (nothing to estimate from yet).
   * Task times are measured up to the moment the result is back on the event
   * loop, so a busy loop makes them, and the estimate, longer: the server then
   * refuses earlier, which is what it should do.
   */
  estimatedWaitMs(): number {
    if (this.active < this.concurrency || this.taskAverage === undefined) return 0;
    return ((this.waiting.length + 1) * this.taskAverage) / this.concurrency;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active < this.concurrency) {
      this.active += 1;
      this.recordWait(0);
    } else {
      await this.enqueue();
    }
    const startedAt = this.clock.now();
    try {
      return await task();
    } finally {
      this.recordTask(this.clock.now() - startedAt);
      this.release();
    }
  }

  /** Resolves when a slot is handed over; rejects at once, or after maxWaitMs, with OverloadedError. */
  private enqueue(): Promise<void> {
    const estimate = this.estimatedWaitMs();
    if (this.waiting.length >= this.queueLimit || (this.maxWaitMs !== undefined && estimate > this.maxWaitMs)) {
      this.rejectedCount += 1;
      return Promise.reject(new OverloadedError(retryAfterSeconds(estimate)));
    }
    return new Promise<void>((resolve, reject) => {
      const enqueuedAt = this.clock.now();
      const maxWaitMs = this.maxWaitMs;
      const timer =
        maxWaitMs === undefined
          ? undefined
          : setTimeout(() => {
              const index = this.waiting.indexOf(waiter);
              if (index === -1) return;
              this.waiting.splice(index, 1);
              this.rejectedCount += 1;
              this.timedOutCount += 1;
              this.recordWait(maxWaitMs);
              reject(new OverloadedError(retryAfterSeconds(this.estimatedWaitMs())));
            }, maxWaitMs);
      const waiter: Waiter = {
        start: () => {
          clearTimeout(timer);
          this.recordWait(this.clock.now() - enqueuedAt);
          resolve();
        },
      };
      this.waiting.push(waiter);
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    // Hand the slot straight to the next waiter; only free it when nobody waits.
    if (next) next.start();
    else this.active -= 1;
  }

  private recordWait(ms: number): void {
    this.waitAverage = this.waitAverage === undefined ? ms : this.waitAverage + this.alpha * (ms - this.waitAverage);
    for (const listener of this.waitListeners) {
      try {
        listener(ms);
      } catch {
        // Called where a slot changes hands: an observer's fault must not leave a waiter hanging.
      }
    }
  }

  private recordTask(ms: number): void {
    this.completedCount += 1;
    this.taskAverage = this.taskAverage === undefined ? ms : this.taskAverage + this.alpha * (ms - this.taskAverage);
  }
}

/** What Retry-After says: the estimated wait, in whole seconds, at least 1. */
function retryAfterSeconds(estimatedWaitMs: number): number {
  return Math.min(60, Math.max(1, Math.ceil(estimatedWaitMs / 1000)));
}
