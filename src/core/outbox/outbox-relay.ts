/**
 * The relay: claims due messages from the outbox with a lease, hands each to the transport, and
 * marks it sent only after the transport accepted it; a failed attempt is retried with backoff
 * (retry-schedule.ts) or given up on. Every server process runs one; the lease keeps a message to
 * one sender at a time, and a message whose sender died is claimed again once its lease ends
 * (at-least-once). Time and timers are injected (ADR 0022).
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { OutboxStore } from '../ports.js';
import type { ClaimedMessage } from './outbox-message.js';
import { MailTransportError, type MailLog, type MailTransport } from './mail-transport.js';
import { nextAttemptAt, type RandomSource, type RetryPolicy } from './retry-schedule.js';

/** setTimeout and clearTimeout, injected so tests decide when the relay runs. */
export interface RelayTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimers: RelayTimers = {
  setTimeout: (callback, ms) => {
    const handle = setTimeout(callback, ms);
    // The relay never keeps a process alive on its own.
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface RelaySettings {
  /** How long a claim keeps a message from other senders. */
  readonly leaseMs: number;
  /** Messages claimed at once (sent concurrently). */
  readonly batchSize: number;
  /** How often the outbox is looked at when nothing wakes the relay. */
  readonly pollMs: number;
  readonly retry: RetryPolicy;
}

export interface RelayOptions extends RelaySettings {
  readonly store: OutboxStore;
  readonly transport: MailTransport;
  readonly clock: Clock;
  readonly timers?: RelayTimers;
  readonly random?: RandomSource;
  /** Unique per relay; default a random UUID. */
  readonly owner?: string;
  readonly log?: MailLog;
}

/** What became of one claimed message. */
export type DeliveryOutcome = 'sent' | 'retry' | 'failed' | 'lease_lost' | 'unmarked';

export class OutboxRelay {
  readonly owner: string;
  private readonly timers: RelayTimers;
  private readonly random: RandomSource;
  private timer: unknown;
  private running: Promise<void> | undefined;
  private again = false;
  private started = false;
  private closed = false;

  constructor(private readonly options: RelayOptions) {
    this.owner = options.owner ?? randomUUID();
    this.timers = options.timers ?? systemTimers;
    this.random = options.random ?? Math.random;
  }

  /** Starts the loop: a run now, then one per `pollMs` (or at once after a full batch, or when woken). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.schedule(0);
  }

  /** Something was queued: look at the outbox now rather than at the next poll. */
  wake(): void {
    if (!this.started || this.closed) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  /** Stops the loop and waits for the messages in hand to be settled. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One claim and the delivery of what it got; the outcome of each message, in claim order. */
  async runOnce(): Promise<DeliveryOutcome[]> {
    const { store, clock, leaseMs, batchSize } = this.options;
    const claimed = await store.claim({ owner: this.owner, nowMs: clock.now(), leaseMs, limit: batchSize });
    return Promise.all(claimed.map((message) => this.deliver(message)));
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      this.running = this.tick().finally(() => {
        this.running = undefined;
      });
    }, ms);
  }

  private async tick(): Promise<void> {
    this.again = false;
    let full = false;
    try {
      full = (await this.runOnce()).length >= this.options.batchSize;
    } catch (error) {
      // The database is away: the messages wait in it; the next poll tries again.
      this.options.log?.warn({ err: describe(error) }, 'mail relay: could not read the outbox');
    }
    this.schedule(full || this.again ? 0 : this.options.pollMs);
  }

  private async deliver(message: ClaimedMessage): Promise<DeliveryOutcome> {
    const { store, transport, clock, log } = this.options;
    const details = { mailId: message.id, kind: message.kind, attempt: message.attempts };
    // A claim that took longer than its lease (a stalled database): another sender may have it now.
    if (clock.now() >= message.leaseUntil) return 'lease_lost';
    try {
      await transport.send(message);
    } catch (error) {
      const permanent = error instanceof MailTransportError && error.permanent;
      const nowMs = clock.now();
      const retryAt = permanent ? undefined : nextAttemptAt(this.options.retry, message.attempts, nowMs, this.random);
      const reason = describe(error);
      const marked = await store
        .markFailed(message.id, { owner: this.owner, nowMs, retryAt, error: reason })
        .catch((markError: unknown) =>
          log?.warn({ ...details, err: describe(markError) }, 'mail relay: could not record a failed attempt'),
        );
      if (retryAt === undefined) {
        log?.error(
          { ...details, err: reason },
          permanent ? 'mail refused for good; given up' : 'mail not sent after the last attempt; given up',
        );
        return marked ? 'failed' : 'unmarked';
      }
      log?.warn({ ...details, err: reason, retryInMs: retryAt - nowMs }, 'mail not sent; will try again');
      return marked ? 'retry' : 'unmarked';
    }
    try {
      if (await store.markSent(message.id, this.owner, clock.now())) return 'sent';
      log?.warn(details, 'mail sent, but its lease had passed to another sender, which may send it again');
      return 'lease_lost';
    } catch (error) {
      log?.warn({ ...details, err: describe(error) }, 'mail sent, but not marked sent: it will be sent again when its lease ends');
      return 'unmarked';
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
