/**
 * A message in the outbox: written by core (in the transaction of what it carries, when it
 * carries a token), sent later by the relay (outbox-relay.ts) through a transport, and marked
 * sent only once the transport accepted it (ADR 0022).
 */

/** A rendered message, ready to be stored; the value a store method of another table can take to write it in its own transaction. */
export interface OutboxMessage {
  /** Unique; made by newOutboxMessage. */
  readonly id: string;
  /** The template it was rendered from (`test`, `password_reset`, ...), for logs and metrics. */
  readonly kind: string;
  /** One address. */
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly createdAt: number;
}

/** Where a message is: waiting (or being sent), sent, or given up on. */
export type OutboxStatus = 'queued' | 'sent' | 'failed';

/** A message as the store holds it. Once sent or failed, its body (subject, text, html) is erased: it may carry a token. */
export interface OutboxEntry extends OutboxMessage {
  readonly status: OutboxStatus;
  /** Claims so far (a claim is an attempt, also when its sender died before saying how it went). */
  readonly attempts: number;
  /** Not claimed before this. */
  readonly nextAttemptAt: number;
  readonly leaseOwner: string | null;
  readonly leaseUntil: number | null;
  /** When it was sent or given up on. */
  readonly finishedAt: number | null;
  /** The last transport error (never a secret: the transports' messages name no password). */
  readonly lastError: string | null;
}

/** What a claim hands a sender: the message, its attempt number, and until when no other sender may take it. */
export interface ClaimedMessage extends OutboxMessage {
  readonly attempts: number;
  readonly leaseUntil: number;
}

export interface OutboxClaim {
  /** Who claims: unique per relay (process). */
  readonly owner: string;
  readonly nowMs: number;
  readonly leaseMs: number;
  readonly limit: number;
}

export interface OutboxFailure {
  readonly owner: string;
  readonly nowMs: number;
  /** When to try again; undefined: give up (the message becomes `failed`). */
  readonly retryAt: number | undefined;
  readonly error: string;
}

export interface OutboxStats {
  /** Waiting to be sent, or being sent. */
  readonly queued: number;
  /** Of the queued, those a sender holds now (claimed, the lease not ended at `nowMs`). */
  readonly sending: number;
  readonly sent: number;
  /** Given up on: a permanent refusal, or every attempt failed. */
  readonly failed: number;
  /** Age of the oldest queued message at `nowMs`, in ms; 0 when none is queued. */
  readonly oldestQueuedAgeMs: number;
}
