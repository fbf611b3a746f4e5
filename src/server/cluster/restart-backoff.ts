/**
 * How long the primary waits before replacing a worker that died. A worker
 * that dies once after running well is replaced almost at once; workers that
 * keep dying young (a crash loop: a bad deploy, a full disk) are replaced
 * ever more slowly, doubling up to a cap, so the loop costs little CPU and
 * log volume. A worker that lived `stableMs` ends the streak.
 */
export interface RestartBackoffOptions {
  /** First delay; default 200 ms. */
  readonly baseMs?: number;
  /** Longest delay; default 30 s. */
  readonly maxMs?: number;
  /** A worker that lived this long was healthy: the streak starts again; default 10 s. */
  readonly stableMs?: number;
}

export class RestartBackoff {
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly stableMs: number;
  private streak = 0;

  constructor(options: RestartBackoffOptions = {}) {
    this.baseMs = options.baseMs ?? 200;
    this.maxMs = options.maxMs ?? 30_000;
    this.stableMs = options.stableMs ?? 10_000;
    if (!(this.baseMs > 0 && this.maxMs >= this.baseMs && this.stableMs >= 0)) {
      throw new TypeError('RestartBackoff needs 0 < baseMs <= maxMs and stableMs >= 0');
    }
  }

  /** Deaths in a row of workers that did not live `stableMs`. */
  get crashStreak(): number {
    return this.streak;
  }

  /** Records the death of a worker that lived `livedMs`; returns the delay before its replacement starts. */
  delayAfterDeath(livedMs: number): number {
    if (livedMs >= this.stableMs) this.streak = 0;
    this.streak += 1;
    // The exponent is capped so the power cannot overflow, whatever the streak.
    return Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.streak - 1, 30));
  }
}
