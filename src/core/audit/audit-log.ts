import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { AuditStore } from '../ports.js';
import type { AuditEvent, AuditEventInput, AuditFilter, AuditPage } from './audit-event.js';

/**
 * Told of every event as it is recorded (metrics count them). Called
 * synchronously on the request's path, so it must be cheap; what it throws
 * is ignored, so an observer can never fail a login or lose an audit record.
 */
export type AuditListener = (event: AuditEvent) => void;

/** Records security events. Ids sort by time (zero-padded ms, then randomness), so pages are stable. */
export class AuditLog {
  private listeners: readonly AuditListener[] = [];

  constructor(
    private readonly store: AuditStore,
    private readonly clock: Clock,
  ) {}

  /** Adds an observer of every recorded event; returns its removal. */
  observe(listener: AuditListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((existing) => existing !== listener);
    };
  }

  async record(event: AuditEventInput): Promise<void> {
    await this.store.record(this.stamp(event));
  }

  /**
   * The event with its id and time, observers told, for a store to write in a transaction of
   * its own (a login's event goes in with its session: SessionStore.create). Every event goes
   * through here, so observers hear of each once.
   */
  stamp(event: AuditEventInput): AuditEvent {
    const at = this.clock.now();
    const id = `${String(at).padStart(15, '0')}-${randomBytes(5).toString('hex')}`;
    const recorded: AuditEvent = { ...event, id, at };
    // Observers hear of the event before it is stored: it happened even if the store then fails.
    for (const listener of this.listeners) {
      try {
        listener(recorded);
      } catch {
        // An observer's fault is not the request's.
      }
    }
    return recorded;
  }

  list(filter: AuditFilter): Promise<AuditPage> {
    return this.store.list(filter);
  }
}
