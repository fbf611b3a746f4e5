/** `portcullis audit`: the security events, newest first, filtered. */
import { AUDIT_EVENT_TYPES, toPublicAuditEvent, type AuditFilter, type PublicAuditEvent } from '../../core/audit/audit-event.js';
import { withUserAdmin } from '../../server/admin.js';
import { integerOption, timeOption } from '../options.js';
import { UsageError } from '../prompt.js';
import { printJson, printTable } from '../table.js';

export const AUDIT_LIMIT_DEFAULT = 50;
const AUDIT_LIMIT_MAX = 100_000;
const PAGE_SIZE = 500;

export interface AuditOptions {
  readonly type?: string;
  readonly subject?: string;
  readonly actor?: string;
  readonly outcome?: 'success' | 'failure';
  readonly since?: string;
  readonly until?: string;
  readonly limit?: string;
  readonly json?: boolean;
}

function auditFilter(options: AuditOptions): Omit<AuditFilter, 'limit' | 'before'> {
  if (options.type !== undefined && !(AUDIT_EVENT_TYPES as readonly string[]).includes(options.type)) {
    throw new UsageError(`--type must be one of: ${AUDIT_EVENT_TYPES.join(', ')}`);
  }
  const since = timeOption(options.since, '--since');
  const until = timeOption(options.until, '--until');
  if (since !== undefined && until !== undefined && since >= until) throw new UsageError('--since must be earlier than --until');
  return {
    ...(options.type === undefined ? {} : { type: options.type }),
    ...(options.subject === undefined ? {} : { subject: options.subject }),
    ...(options.actor === undefined ? {} : { actor: options.actor }),
    ...(options.outcome === undefined ? {} : { outcome: options.outcome }),
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
  };
}

function formatDetails(details: PublicAuditEvent['details']): string {
  return Object.entries(details)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
}

export async function auditCommand(options: AuditOptions): Promise<void> {
  const filter = auditFilter(options);
  const limit = integerOption(options.limit, '--limit', 1, AUDIT_LIMIT_MAX) ?? AUDIT_LIMIT_DEFAULT;
  await withUserAdmin(async ({ audit }) => {
    const events: PublicAuditEvent[] = [];
    let before: string | undefined;
    do {
      const page = await audit.list({ ...filter, limit: Math.min(PAGE_SIZE, limit - events.length), ...(before ? { before } : {}) });
      events.push(...page.events.map(toPublicAuditEvent));
      before = page.next;
    } while (before !== undefined && events.length < limit);
    if (options.json) {
      printJson(events);
      return;
    }
    if (events.length === 0) {
      console.log('No events.');
      return;
    }
    printTable(
      ['AT', 'TYPE', 'OUTCOME', 'ACTOR', 'SUBJECT', 'IP', 'DETAILS'],
      events.map((event) => [
        event.at,
        event.type,
        event.outcome,
        event.actor ?? '',
        event.subject ?? '',
        event.ip ?? '',
        formatDetails(event.details),
      ]),
    );
  });
}
