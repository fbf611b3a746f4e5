/**
 * The revocation feed (GET /revocations): which sessions were revoked, for resource servers that verify access
 * tokens on their own, listed only while their tokens may still be alive (ACCESS_TOKEN_EXPIRE_MINUTES plus the
 * clock tolerance and a margin). Service clients' tokens have no session and are not listed; a disabled or
 * removed user and a password change are, through their sessions (ADR 0014).
 */
import { InvalidRequestError } from '../errors.js';
import type { RevocationFeedStore } from '../ports.js';

/**
 * Beyond a token's lifetime and clock tolerance: a refresh in flight when its
 * session is revoked may still sign a token a moment after the revocation.
 */
export const REVOCATION_MARGIN_SECONDS = 60;

/** The longest ACCESS_TOKEN_EXPIRE_MINUTES and CLOCK_TOLERANCE_SECONDS loadConfig accepts (revocation-feed.test.ts holds them to it). */
export const LONGEST_TOKEN_LIFETIME_SECONDS = 24 * 60 * 60;
export const LONGEST_CLOCK_TOLERANCE_SECONDS = 300;

/**
 * How long the log keeps an entry: long enough for any configuration, so
 * that instances (and the CLI) configured differently never prune what one
 * of them still serves. Answers are cut to the configured lifetime.
 */
export const REVOCATION_LOG_RETENTION_MS =
  (LONGEST_TOKEN_LIFETIME_SECONDS + LONGEST_CLOCK_TOLERANCE_SECONDS + REVOCATION_MARGIN_SECONDS) * 1000;

export const REVOCATION_PAGE_MAX = 10_000;

/** A cursor is the decimal number of the last entry seen. */
const CURSOR = /^(0|[1-9][0-9]{0,14})$/;

export interface RevocationFeedSettings {
  readonly accessTokenTtlSeconds: number;
  readonly clockToleranceSeconds: number;
}

/** GET /revocations's answer. */
export interface RevocationFeedResponse {
  /** Pass it back as `since`. Opaque to clients. */
  readonly cursor: string;
  /** true: this answer starts from the beginning (no `since`, or one the server cannot continue from). */
  readonly full: boolean;
  /** true: more entries follow at once; ask again with `cursor`. */
  readonly more: boolean;
  /** How long a resource server must remember each entry: no token of it outlives that. */
  readonly retain_seconds: number;
  /** Sessions whose every access token is revoked. */
  readonly sids: readonly string[];
  /** Sessions that go on (a password change), whose tokens with a `ver` below this one are revoked. */
  readonly versions: ReadonlyArray<{ readonly sid: string; readonly ver: number }>;
}

/** How long an entry matters: no access token issued before its revocation outlives this. */
export function revocationRetentionSeconds(settings: RevocationFeedSettings): number {
  return settings.accessTokenTtlSeconds + settings.clockToleranceSeconds + REVOCATION_MARGIN_SECONDS;
}

export function parseRevocationCursor(since: string | undefined): number | undefined {
  if (since === undefined) return undefined;
  if (!CURSOR.test(since)) {
    throw new InvalidRequestError('since must be a cursor from an earlier answer of GET /revocations (a decimal number)');
  }
  return Number(since);
}

export function parseRevocationLimit(limit: string | undefined): number {
  if (limit === undefined) return REVOCATION_PAGE_MAX;
  const value = /^[0-9]{1,6}$/.test(limit) ? Number(limit) : NaN;
  if (!(value >= 1 && value <= REVOCATION_PAGE_MAX)) {
    throw new InvalidRequestError(`limit must be an integer from 1 to ${REVOCATION_PAGE_MAX}`);
  }
  return value;
}

/** One page of the feed after `since` (a cursor from an earlier page; undefined: from the beginning). */
export async function readRevocationFeed(
  store: RevocationFeedStore,
  settings: RevocationFeedSettings,
  nowMs: number,
  since: string | undefined,
  limit: string | undefined,
): Promise<RevocationFeedResponse> {
  const cursor = parseRevocationCursor(since);
  const pageSize = parseRevocationLimit(limit);
  const retainSeconds = revocationRetentionSeconds(settings);
  const page = await store.read(cursor, nowMs - retainSeconds * 1000, pageSize);
  const sids: string[] = [];
  const versions: Array<{ sid: string; ver: number }> = [];
  for (const entry of page.sessions) {
    if (entry.minTokenVersion === undefined) sids.push(entry.sessionId);
    else versions.push({ sid: entry.sessionId, ver: entry.minTokenVersion });
  }
  return { cursor: String(page.cursor), full: page.full, more: page.more, retain_seconds: retainSeconds, sids, versions };
}
