import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { AuditStore } from '../ports.js';
import type { AuditEventInput, AuditFilter, AuditPage } from './audit-event.js';

/** Records security events. Ids sort by time (zero-padded ms, then randomness), so pages are stable. */
export class AuditLog {
  constructor(
    private readonly store: AuditStore,
    private readonly clock: Clock,
  ) {}

  async record(event: AuditEventInput): Promise<void> {
    const at = this.clock.now();
    const id = `${String(at).padStart(15, '0')}-${randomBytes(5).toString('hex')}`;
    await this.store.record({ ...event, id, at });
  }

  list(filter: AuditFilter): Promise<AuditPage> {
    return this.store.list(filter);
  }
}
