/**
 * Back-channel logout (OpenID Connect Back-Channel Logout 1.0) as we queue it: when a browser
 * session ends, each client that opened a session with one of its codes and registered a
 * `backchannel_logout_uri` is owed a logout token. The debt is a row (`logout_deliveries`,
 * migration 0012) written in the transaction that ends the session, sent by a relay with leases
 * and bounded retries like the mail outbox's (ADR 0022), so ending a session never waits on a
 * client, and a slow or dead client delays no other (each POST has a time-out).
 */
import type { OutboxClaim, OutboxFailure, OutboxStatus } from '../outbox/outbox-message.js';
import type { RetryPolicy } from '../outbox/retry-schedule.js';

export const LOGOUT_DELIVERY_KIND = 'backchannel_logout';

/** A logout token owed to one client for one ended browser session. Its id is the token's `jti` on every attempt. */
export interface LogoutDelivery {
  readonly id: string;
  readonly kind: typeof LOGOUT_DELIVERY_KIND;
  readonly clientId: string;
  /** The client's backchannel_logout_uri when the session ended. */
  readonly uri: string;
  /** The token's `sub`: the user's id, as in the ID token. */
  readonly userId: string;
  /** The token's `sid`: the browser session that ended, as in the ID token. */
  readonly browserSessionId: string;
  readonly createdAt: number;
}

/** What a claim hands the relay: the delivery, its attempt number and until when no other relay may take it. */
export interface ClaimedLogoutDelivery extends LogoutDelivery {
  readonly attempts: number;
  readonly leaseUntil: number;
}

/** A delivery as the store keeps it (for tests and counts). */
export interface LogoutDeliveryEntry extends LogoutDelivery {
  readonly status: OutboxStatus;
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly finishedAt: number | null;
  readonly lastError: string | null;
}

/**
 * The queue (SQL: logout_deliveries). Rows are written by the session store when a browser session
 * ends (in that transaction); the relay claims, marks and prunes them as the outbox's relay does.
 */
export interface LogoutDeliveryStore {
  claim(claim: OutboxClaim): Promise<ClaimedLogoutDelivery[]>;
  markSent(id: string, owner: string, nowMs: number): Promise<boolean>;
  markFailed(id: string, failure: OutboxFailure): Promise<boolean>;
  /** Deletes at most `limit` sent or given-up deliveries finished before `beforeMs`; how many. */
  prune(beforeMs: number, limit: number): Promise<number>;
  /** The deliveries owed for a browser session, oldest first. */
  listForBrowserSession(browserSessionId: string): Promise<LogoutDeliveryEntry[]>;
}

/**
 * Fixed bounds (SECURITY.md): 8 attempts, 5 s doubling to at most 5 min between them (about
 * 10 minutes in all): a client down for longer has lost its users' sessions' logout anyway, and
 * its refresh tokens were revoked with the browser session, which is what protects the user.
 */
export const LOGOUT_RETRY: RetryPolicy = Object.freeze({ baseMs: 5_000, maxMs: 300_000, maxAttempts: 8 });
/** One POST may take this long; then it counts as failed (and is retried). */
export const LOGOUT_POST_TIMEOUT_MS = 5_000;
/** A claim holds this long: well over a POST's time-out. */
export const LOGOUT_LEASE_MS = 30_000;
export const LOGOUT_POLL_MS = 5_000;
/** Claimed, and so POSTed concurrently, at once. */
export const LOGOUT_BATCH_SIZE = 20;
/** A sent or given-up row is kept this long (for an operator looking into a client's logout), then deleted. */
export const LOGOUT_RETENTION_MS = 24 * 3600_000;
