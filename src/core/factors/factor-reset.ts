/**
 * An administrator's reset of a user's second factors (DELETE /admin/users/{name}/factors,
 * `portcullis users reset-factors NAME`): every factor and recovery code removed, audited, and the
 * user told by mail (`factors_reset`) when the account has an address and mail can be sent. The
 * mail is queued after the removal is committed: a failed queue leaves the reset done and says so.
 */
import type { ActionContext } from '../action-context.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Mailer } from '../outbox/mailer.js';
import type { User } from '../users/user.js';
import type { FactorStore } from './factor.js';

export interface FactorReset {
  /** How many factors were removed (0: the user had none; nothing is mailed then). */
  readonly removed: number;
  /** Whether the notice was queued. */
  readonly notified: boolean;
}

export async function resetFactors(
  deps: { readonly store: FactorStore; readonly audit: AuditLog; readonly mailer: Mailer | undefined },
  user: User,
  context: ActionContext,
): Promise<FactorReset> {
  const removed = await deps.store.removeAll(user.id);
  await deps.audit.record({
    type: 'factor.reset',
    outcome: 'success',
    actor: context.actor,
    subject: user.username,
    ip: context.ip,
    details: { factors: removed },
  });
  let notified = false;
  if (removed > 0 && user.email !== null && deps.mailer?.available === true) {
    await deps.mailer.send('factors_reset', user.email, { username: user.username });
    notified = true;
  }
  return { removed, notified };
}
