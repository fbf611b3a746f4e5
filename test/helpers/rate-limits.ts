/**
 * Helpers for the rate-limit tests: requests from a chosen client address
 * (through X-Forwarded-For, which a server with TRUSTED_PROXIES=127.0.0.1
 * believes), the 429 shape, and the trip-and-recover scenario that both the
 * in-process and the Redis tests run.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { formPostWith } from './lifecycle.js';
import type { TestServer } from './server.js';

/**
 * Small limits: 3 at once, then one a minute, so that "three quick requests" are quick however
 * loaded the machine; a test moves time on to see a bucket refill (tripAndRecover). Plus the proxy
 * to choose client addresses through.
 */
export const SMALL_IP_LIMITS = {
  RATE_LIMIT_IP_BURST: '3',
  RATE_LIMIT_IP_PER_MINUTE: '1',
  TRUSTED_PROXIES: '127.0.0.1',
} as const;
/** SMALL_IP_LIMITS' RateLimit-Policy: 3 requests, a window of 180 s (the time to refill all 3). */
export const SMALL_IP_POLICY = '3;w=180';
const REFILL_MS = 60_000;

/** A documentation address (TEST-NET-3) nobody else in the run uses. */
export function randomClientIp(): string {
  return `203.0.${randomInt(0, 256)}.${randomInt(1, 255)}`;
}

export function from(ip: string): { 'x-forwarded-for': string } {
  return { 'x-forwarded-for': ip };
}

/** POST /revoke of a token nobody has: no hashing, always 200 when allowed. */
export async function revoke(server: TestServer, headers: Record<string, string> = {}): Promise<Response> {
  const response = await formPostWith(server, '/revoke', { token: 'not-a-token' }, headers);
  await response.arrayBuffer();
  return response;
}

export interface RateHeaders {
  readonly limit: string | null;
  readonly remaining: string | null;
  readonly reset: string | null;
  readonly policy: string | null;
  readonly retryAfter: string | null;
}

export function rateHeaders(response: Response): RateHeaders {
  return {
    limit: response.headers.get('ratelimit-limit'),
    remaining: response.headers.get('ratelimit-remaining'),
    reset: response.headers.get('ratelimit-reset'),
    policy: response.headers.get('ratelimit-policy'),
    retryAfter: response.headers.get('retry-after'),
  };
}

/** A 429 as API.md gives it: Retry-After, the RateLimit-* headers, and the OAuth error body where the route is OAuth's. */
/**
 * A 429 of a bucket. `challenge`: a password attempt's refusal carries a login challenge
 * (its content is random; its shape is checked by the login-challenge tests).
 */
export async function assertRateLimited(
  response: Response,
  expected: { limit: number; policy: string; oauth: boolean; challenge?: boolean },
): Promise<void> {
  assert.equal(response.status, 429);
  const headers = rateHeaders(response);
  assert.ok(Number(headers.retryAfter) >= 1, `Retry-After ${headers.retryAfter}`);
  assert.equal(headers.limit, String(expected.limit));
  assert.equal(headers.remaining, '0');
  assert.ok(Number(headers.reset) >= Number(headers.retryAfter), `RateLimit-Reset ${headers.reset}`);
  assert.equal(headers.policy, expected.policy);
  const { challenge, ...body } = (await response.json()) as Record<string, unknown>;
  assert.equal(challenge !== undefined, expected.challenge === true, `a challenge: ${JSON.stringify(challenge)}`);
  assert.deepEqual(
    body,
    expected.oauth
      ? { detail: 'Too many requests', error: 'temporarily_unavailable', error_description: 'Too many requests' }
      : { detail: 'Too many requests' },
  );
}

/** How a test moves a rate limiter's time on. */
export interface LimiterTime {
  /** The limiter's clock stands still unless moved (fixedClock); false: it runs (Redis's own clock). */
  readonly fixed: boolean;
  /** Moves the limiter's time on by `ms` (for the buckets the test uses). */
  advance(ms: number): void | Promise<void>;
}

/**
 * With SMALL_IP_LIMITS: three requests pass, counting down; the fourth gets 429; once a token's
 * refill time has passed (`time.advance`), one passes again, and only one. On a running clock the
 * seconds in RateLimit-Reset and Retry-After shrink by the time the requests took: they are
 * checked within that much.
 */
export async function tripAndRecover(server: TestServer, headers: Record<string, string>, time: LimiterTime): Promise<void> {
  const started = performance.now();
  const assertSeconds = (actual: string | null, expected: number, what: string) => {
    const lag = time.fixed ? 0 : Math.ceil((performance.now() - started) / 1000);
    const seconds = Number(actual);
    assert.ok(
      seconds <= expected && seconds >= expected - lag,
      `${what} ${actual}, expected ${time.fixed ? expected : `${expected - lag} to ${expected}`}`,
    );
  };
  for (const remaining of [2, 1, 0]) {
    const response = await revoke(server, headers);
    assert.equal(response.status, 200);
    const { reset, ...rest } = rateHeaders(response);
    assert.deepEqual(rest, { limit: '3', remaining: String(remaining), policy: SMALL_IP_POLICY, retryAfter: null });
    assertSeconds(reset, (3 - remaining) * (REFILL_MS / 1000), 'RateLimit-Reset');
  }
  const refused = await formPostWith(server, '/revoke', { token: 'not-a-token' }, headers);
  assertSeconds(refused.headers.get('retry-after'), REFILL_MS / 1000, 'Retry-After');
  assert.equal(refused.headers.get('cache-control'), 'no-store');
  await assertRateLimited(refused, { limit: 3, policy: SMALL_IP_POLICY, oauth: true });

  await time.advance(REFILL_MS);
  const recovered = await revoke(server, headers);
  assert.equal(recovered.status, 200, 'one token back after its refill time');
  assert.equal(recovered.headers.get('ratelimit-remaining'), '0');
  assert.equal((await revoke(server, headers)).status, 429, 'and only one');
}
