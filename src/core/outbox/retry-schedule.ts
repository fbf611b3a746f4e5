/**
 * When the relay tries a message again: exponential backoff from `baseMs`, doubling per failed
 * attempt up to `maxMs`, with "equal jitter" (half the delay fixed, half random) from an injected
 * random source so that many messages failing together do not retry together; after `maxAttempts`
 * the message is given up on (ADR 0022).
 */
export interface RetryPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
  readonly maxAttempts: number;
}

/** A number in [0, 1), as Math.random. */
export type RandomSource = () => number;

/** The delay before attempt `attempts + 1`, after `attempts` failed ones (1 or more). */
export function retryDelayMs(policy: RetryPolicy, attempts: number, random: RandomSource): number {
  const exponent = Math.min(Math.max(attempts - 1, 0), 30);
  const delay = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  return Math.round(delay / 2 + (delay / 2) * random());
}

/** When to try again after `attempts` failed ones, or undefined when that was the last. */
export function nextAttemptAt(policy: RetryPolicy, attempts: number, nowMs: number, random: RandomSource): number | undefined {
  if (attempts >= policy.maxAttempts) return undefined;
  return nowMs + retryDelayMs(policy, attempts, random);
}
