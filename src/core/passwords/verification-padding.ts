/**
 * Enumeration resistance for imported hashes (issue 18, SECURITY.md "Enumeration resistance"): a
 * login for an unknown user costs one dummy argon2id verification, so a wrong password for a user
 * whose imported hash is cheaper (salted SHA, phpass, PBKDF2 at a few thousand iterations, bcrypt
 * at a low cost) would answer faster and tell that the user exists. The hasher records how long its
 * argon2id verifications at the configured parameters take (the dummy's among them) and holds the
 * hashing slot of a cheaper verification until it has lasted as long as their recent median: the
 * answer then comes as late as an unknown user's, and the slot is as busy, so queueing under load
 * looks the same too. A dearer hash cannot be made cheaper; its residual is measured and
 * documented, and the import warns of it (import-login-cost.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** How many recent durations the median is taken over: enough to ride out one slow sample. */
const SAMPLES = 15;
/** Below this a timer cannot wait precisely; the rest is noise. */
const MIN_PAD_MS = 1;

export class VerificationPadding {
  private readonly recentMs: number[] = [];

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** The start of a verification, for `record` or `padFrom`. */
  start(): number {
    return this.now();
  }

  /** Records how long an argon2id verification at the configured parameters took. */
  record(startedMs: number): void {
    this.recentMs.push(this.now() - startedMs);
    if (this.recentMs.length > SAMPLES) this.recentMs.shift();
  }

  /** The median of the recorded durations, undefined before the first. */
  typicalMs(): number | undefined {
    if (this.recentMs.length === 0) return undefined;
    const sorted = [...this.recentMs].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  }

  /** Waits until a verification started at `startedMs` has lasted the typical argon2id verification. */
  async padFrom(startedMs: number): Promise<void> {
    const typical = this.typicalMs();
    if (typical === undefined) return;
    const remaining = typical - (this.now() - startedMs);
    if (remaining >= MIN_PAD_MS) await sleep(remaining);
  }
}
