/** The audit log over Kysely. Ids sort by time, so "newest first" is "id descending". */
import type { Selectable } from 'kysely';
import type { AuditEvent, AuditFilter, AuditPage } from '../../core/audit/audit-event.js';
import type { AuditStore } from '../../core/ports.js';
import type { SqlDialect } from './dialects/dialect.js';
import { guardDriverErrors } from './driver-errors.js';
import type { AuditEventsTable } from './schema.js';
import { fromIso, iso } from './sql-time.js';

export class SqlAuditStore implements AuditStore {
  constructor(private readonly dialect: SqlDialect) {}

  private get db() {
    return this.dialect.db;
  }

  async record(event: AuditEvent): Promise<void> {
    await guardDriverErrors(this.dialect, () => this.db.insertInto('audit_events').values(auditRow(event)).execute());
  }

  async list(filter: AuditFilter): Promise<AuditPage> {
    let query = this.db
      .selectFrom('audit_events')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(filter.limit + 1);
    if (filter.type !== undefined) query = query.where('type', '=', filter.type);
    if (filter.subject !== undefined) query = query.where('subject', '=', filter.subject);
    if (filter.actor !== undefined) query = query.where('actor', '=', filter.actor);
    if (filter.outcome !== undefined) query = query.where('outcome', '=', filter.outcome);
    if (filter.since !== undefined) query = query.where('at', '>=', iso(filter.since));
    if (filter.until !== undefined) query = query.where('at', '<', iso(filter.until));
    if (filter.before !== undefined) query = query.where('id', '<', filter.before);
    const rows = await guardDriverErrors(this.dialect, () => query.execute());
    const events = rows.slice(0, filter.limit).map(toEvent);
    const last = events[events.length - 1];
    return { events, next: rows.length > filter.limit && last ? last.id : undefined };
  }
}

/** An event as its row; SqlSessionStore writes a login's event with this too, in the session's transaction. */
export function auditRow(event: AuditEvent): AuditEventsTable {
  return {
    id: event.id,
    at: iso(event.at),
    type: event.type,
    outcome: event.outcome,
    actor: event.actor ?? null,
    subject: event.subject ?? null,
    ip: event.ip ?? null,
    details: event.details && Object.keys(event.details).length > 0 ? JSON.stringify(event.details) : null,
  };
}

function toEvent(row: Selectable<AuditEventsTable>): AuditEvent {
  return {
    id: row.id,
    at: fromIso(row.at),
    type: row.type as AuditEvent['type'],
    outcome: row.outcome as AuditEvent['outcome'],
    actor: row.actor,
    subject: row.subject,
    ip: row.ip,
    ...(row.details === null ? {} : { details: JSON.parse(row.details) as AuditEvent['details'] }),
  };
}
