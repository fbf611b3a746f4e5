/**
 * AuditStore in an array, newest first by id (AuditLog makes ids that sort
 * by time). As the SQL store: a missing actor, subject or ip reads back as
 * null, empty details as none, and an id taken is refused.
 */
import type { AuditEvent, AuditFilter, AuditPage } from '../../core/audit/audit-event.js';
import type { AuditStore } from '../../core/ports.js';
import { compareCodePoints } from './code-point-order.js';

export class MemoryAuditStore implements AuditStore {
  private readonly events: AuditEvent[] = [];
  private readonly ids = new Set<string>();

  async record(event: AuditEvent): Promise<void> {
    this.add(event);
  }

  /** Stores the event at once (MemorySessionStore writes a login's with its session); throws when its id is taken. */
  add(event: AuditEvent): void {
    if (this.ids.has(event.id)) throw new Error(`audit event ${event.id} exists already`);
    this.ids.add(event.id);
    const { details, ...rest } = event;
    this.events.push(
      Object.freeze({
        ...rest,
        actor: event.actor ?? null,
        subject: event.subject ?? null,
        ip: event.ip ?? null,
        ...(details && Object.keys(details).length > 0 ? { details: Object.freeze({ ...details }) } : {}),
      }),
    );
  }

  async list(filter: AuditFilter): Promise<AuditPage> {
    const matching = this.events
      .filter(
        (event) =>
          (filter.type === undefined || event.type === filter.type) &&
          (filter.subject === undefined || event.subject === filter.subject) &&
          (filter.actor === undefined || event.actor === filter.actor) &&
          (filter.outcome === undefined || event.outcome === filter.outcome) &&
          (filter.since === undefined || event.at >= filter.since) &&
          (filter.until === undefined || event.at < filter.until) &&
          (filter.before === undefined || compareCodePoints(event.id, filter.before) < 0),
      )
      .sort((a, b) => compareCodePoints(b.id, a.id));
    const events = matching.slice(0, filter.limit);
    const last = events[events.length - 1];
    return { events, next: matching.length > filter.limit && last ? last.id : undefined };
  }
}
