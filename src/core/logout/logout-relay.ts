/**
 * The relay of back-channel logout tokens: the outbox's relay (ADR 0022) over `logout_deliveries`,
 * with the back-channel transport, fixed bounds (logout-delivery.ts), and an audit record of each
 * token delivered or given up on. It is woken by the audit events of an ending session, so a
 * token goes out at once rather than at the next poll; a token queued by another process waits
 * at most one poll.
 */
import type { AuditLog } from '../audit/audit-log.js';
import type { AuditEventType } from '../audit/audit-event.js';
import type { Clock } from '../clock.js';
import type { MailLog } from '../outbox/mail-transport.js';
import { OutboxRelay, type RelayTimers } from '../outbox/outbox-relay.js';
import { BackChannelTransport } from './back-channel-transport.js';
import {
  LOGOUT_BATCH_SIZE,
  LOGOUT_LEASE_MS,
  LOGOUT_POLL_MS,
  LOGOUT_POST_TIMEOUT_MS,
  LOGOUT_RETENTION_MS,
  LOGOUT_RETRY,
  type ClaimedLogoutDelivery,
  type LogoutDeliveryStore,
} from './logout-delivery.js';
import type { LogoutTokenSigner } from './logout-token.js';

export type LogoutRelay = OutboxRelay<ClaimedLogoutDelivery>;

/** Events recorded after sessions ended (and so, perhaps, logout tokens were queued). */
const SESSION_ENDINGS: ReadonlySet<AuditEventType> = new Set<AuditEventType>([
  'session.revoked',
  'logout.rp_initiated',
  'password.changed',
  'password.reset',
  'user.disabled',
  'user.removed',
]);

export interface LogoutRelayOptions {
  readonly store: LogoutDeliveryStore;
  readonly signer: LogoutTokenSigner;
  readonly issuer: string;
  readonly clock: Clock;
  readonly audit: AuditLog;
  readonly log?: MailLog;
  readonly timers?: RelayTimers;
}

export function createLogoutRelay(options: LogoutRelayOptions): { relay: LogoutRelay; stopWaking: () => void } {
  const { store, signer, issuer, clock, audit } = options;
  const relay: LogoutRelay = new OutboxRelay<ClaimedLogoutDelivery>({
    store,
    transport: new BackChannelTransport({ signer, issuer, clock, timeoutMs: LOGOUT_POST_TIMEOUT_MS }),
    clock,
    leaseMs: LOGOUT_LEASE_MS,
    batchSize: LOGOUT_BATCH_SIZE,
    pollMs: LOGOUT_POLL_MS,
    retry: LOGOUT_RETRY,
    pruning: { retentionMs: LOGOUT_RETENTION_MS, everyMs: 10 * 60_000, batchSize: 500 },
    label: 'logout token',
    about: (delivery) => delivery.clientId,
    ...(options.log ? { log: options.log } : {}),
    ...(options.timers ? { timers: options.timers } : {}),
  });
  const record = (
    type: AuditEventType,
    outcome: 'success' | 'failure',
    event: { id: string; attempts: number; about?: string; error?: string },
  ) => {
    audit
      .record({
        type,
        outcome,
        actor: null,
        subject: event.about === undefined ? null : `client:${event.about}`,
        details: { delivery: event.id, attempts: event.attempts, ...(event.error === undefined ? {} : { error: event.error }) },
      })
      .catch((error: unknown) =>
        options.log?.warn({ err: error instanceof Error ? error.message : String(error) }, 'logout token relay: audit record failed'),
      );
  };
  relay.on('sent', (event) => record('logout.backchannel_sent', 'success', event));
  relay.on('failed', (event) => record('logout.backchannel_failed', 'failure', event));
  const stopWaking = audit.observe((event) => {
    if (SESSION_ENDINGS.has(event.type)) relay.wake();
  });
  return { relay, stopWaking };
}
