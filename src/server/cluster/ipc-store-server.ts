/**
 * The primary's side of the shared abuse state: one rate limiter and one
 * login-attempt store (in memory, in the primary) answering every worker's
 * calls, so N workers count against one set of buckets instead of N. The
 * arguments come from our own workers, but are still checked before use: a
 * malformed call is answered with an error, never a crash of the primary.
 */
import type { TokenBucketSettings } from '../../core/config.js';
import type { LoginAttemptStore, LoginFailureRecord, RateLimiter } from '../../core/ports.js';
import { STORE_CHANNEL, type StoreReply, type StoreRequest } from './cluster-messages.js';

export interface SharedStores {
  readonly rateLimiter: RateLimiter;
  readonly loginAttempts: LoginAttemptStore;
}

/** Runs one call against the stores; never throws (a failure is an error reply). */
export async function answerStoreRequest(stores: SharedStores, request: StoreRequest): Promise<StoreReply> {
  try {
    const value = await dispatch(stores, request);
    return { channel: STORE_CHANNEL, id: request.id, ok: true, value };
  } catch (error) {
    return { channel: STORE_CHANNEL, id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

function dispatch(stores: SharedStores, { op, args }: StoreRequest): Promise<unknown> {
  switch (op) {
    case 'consume':
      return stores.rateLimiter.consume(text(args[0]), bucket(args[1]), args[2] === undefined ? undefined : num(args[2]));
    case 'inspect':
      return stores.loginAttempts.inspect(text(args[0]), text(args[1]), num(args[2]), num(args[3]));
    case 'recordFailure':
      return stores.loginAttempts.recordFailure(failure(args[0]));
    case 'clearFailures':
      return stores.loginAttempts.clearFailures(text(args[0]));
    case 'claimOnce':
      return stores.loginAttempts.claimOnce(text(args[0]), num(args[1]), num(args[2]));
  }
}

function text(value: unknown): string {
  if (typeof value !== 'string') throw new TypeError('expected a string argument');
  return value;
}

function num(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError('expected a finite number argument');
  return value;
}

function bucket(value: unknown): TokenBucketSettings {
  if (typeof value !== 'object' || value === null) throw new TypeError('expected bucket settings');
  const { perMinute, burst } = value as Record<string, unknown>;
  return { perMinute: num(perMinute), burst: num(burst) };
}

function failure(value: unknown): LoginFailureRecord {
  if (typeof value !== 'object' || value === null) throw new TypeError('expected a login failure record');
  const record = value as Record<string, unknown>;
  return {
    pairKey: text(record.pairKey),
    sourceKey: text(record.sourceKey),
    accountKey: text(record.accountKey),
    nowMs: num(record.nowMs),
    pairTtlMs: num(record.pairTtlMs),
    sprayWindowMs: num(record.sprayWindowMs),
  };
}
