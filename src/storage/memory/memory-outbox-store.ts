/**
 * The mail outbox in a Map, for the unit tests of the relay and the mail service. As the SQL
 * store: claims lease due messages oldest due first, a sent or failed message loses its body, only
 * the lease's owner may mark it, and a prune deletes finished messages only (ADR 0022).
 */
import type {
  ClaimedMessage,
  OutboxClaim,
  OutboxEntry,
  OutboxFailure,
  OutboxMessage,
  OutboxStats,
} from '../../core/outbox/outbox-message.js';
import type { OutboxStore } from '../../core/ports.js';

const MAX_ERROR_LENGTH = 500;

export class MemoryOutboxStore implements OutboxStore {
  private readonly entries = new Map<string, OutboxEntry>();

  async enqueue(message: OutboxMessage): Promise<void> {
    this.add(message);
  }

  /** Stores the message at once (a memory store of another table writes it with its own rows); throws when its id is taken. */
  add(message: OutboxMessage): void {
    if (this.entries.has(message.id)) throw new Error(`outbox message ${message.id} exists already`);
    this.entries.set(message.id, {
      id: message.id,
      kind: message.kind,
      to: message.to,
      subject: message.subject,
      text: message.text,
      html: message.html,
      createdAt: message.createdAt,
      status: 'queued',
      attempts: 0,
      nextAttemptAt: message.createdAt,
      leaseOwner: null,
      leaseUntil: null,
      finishedAt: null,
      lastError: null,
    });
  }

  async claim({ owner, nowMs, leaseMs, limit }: OutboxClaim): Promise<ClaimedMessage[]> {
    const due = [...this.entries.values()]
      .filter(
        (entry) => entry.status === 'queued' && entry.nextAttemptAt <= nowMs && (entry.leaseUntil === null || entry.leaseUntil <= nowMs),
      )
      .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || (a.id < b.id ? -1 : 1))
      .slice(0, limit);
    return due.map((entry) => {
      const claimed = { ...entry, attempts: entry.attempts + 1, leaseOwner: owner, leaseUntil: nowMs + leaseMs };
      this.entries.set(entry.id, claimed);
      const { id, kind, to, subject, text, html, createdAt, attempts, leaseUntil } = claimed;
      return { id, kind, to, subject, text, html, createdAt, attempts, leaseUntil };
    });
  }

  async markSent(id: string, owner: string, nowMs: number): Promise<boolean> {
    return this.finish(id, owner, { status: 'sent', finishedAt: nowMs });
  }

  async markFailed(id: string, { owner, nowMs, retryAt, error }: OutboxFailure): Promise<boolean> {
    const lastError = error.slice(0, MAX_ERROR_LENGTH);
    if (retryAt === undefined) return this.finish(id, owner, { status: 'failed', finishedAt: nowMs, lastError });
    const entry = this.held(id, owner);
    if (entry === undefined) return false;
    this.entries.set(id, { ...entry, leaseOwner: null, leaseUntil: null, nextAttemptAt: retryAt, lastError });
    return true;
  }

  async find(id: string): Promise<OutboxEntry | undefined> {
    return this.entries.get(id);
  }

  async stats(nowMs: number): Promise<OutboxStats> {
    let queued = 0;
    let sending = 0;
    let sent = 0;
    let failed = 0;
    let oldest: number | undefined;
    for (const entry of this.entries.values()) {
      if (entry.status === 'sent') sent += 1;
      else if (entry.status === 'failed') failed += 1;
      else {
        queued += 1;
        if (entry.leaseUntil !== null && entry.leaseUntil > nowMs) sending += 1;
        oldest = Math.min(oldest ?? entry.createdAt, entry.createdAt);
      }
    }
    return { queued, sending, sent, failed, oldestQueuedAgeMs: oldest === undefined ? 0 : Math.max(0, nowMs - oldest) };
  }

  async prune(beforeMs: number, limit: number): Promise<number> {
    let deleted = 0;
    for (const entry of this.entries.values()) {
      if (deleted >= limit) break;
      if (entry.status === 'queued' || entry.finishedAt === null || entry.finishedAt >= beforeMs) continue;
      this.entries.delete(entry.id);
      deleted += 1;
    }
    return deleted;
  }

  private held(id: string, owner: string): OutboxEntry | undefined {
    const entry = this.entries.get(id);
    return entry?.status === 'queued' && entry.leaseOwner === owner ? entry : undefined;
  }

  private finish(id: string, owner: string, change: Pick<OutboxEntry, 'status' | 'finishedAt'> & { lastError?: string }): boolean {
    const entry = this.held(id, owner);
    if (entry === undefined) return false;
    this.entries.set(id, { ...entry, ...change, leaseOwner: null, leaseUntil: null, subject: '', text: '', html: '' });
    return true;
  }
}
