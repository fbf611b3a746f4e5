/**
 * The relay: claims due messages from the outbox with a lease, hands each to the transport, and
 * marks it sent only after the transport accepted it; a failed attempt is retried with backoff
 * (retry-schedule.ts) or given up on. Every server process runs one; the lease keeps a message to
 * one sender at a time, and a message whose sender died is claimed again once its lease ends
 * (at-least-once). It also deletes finished messages past their retention, a bounded batch at most
 * every `pruning.everyMs`. A waiter in the same process listens to its events (`sent`, `failed`,
 * `idle`) or awaits `drained()` instead of reading the outbox again and again. Time and timers are
 * injected (ADR 0022). The same relay sends back-channel logout tokens (core/logout/): it is generic
 * over what it claims (`RelayItem`), its store and its transport; `label` names it in the log.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Clock } from '../clock.js';
import type { ClaimedMessage, OutboxClaim, OutboxFailure } from './outbox-message.js';
import type { MailLog } from './mail-transport.js';
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
  /** Deleting sent and given-up messages; without it, they are kept. */
  readonly pruning?: PruneSettings;
}

export interface PruneSettings {
  /** A sent or given-up message is deleted this long after it was finished. */
  readonly retentionMs: number;
  /** At most one prune per this long (per relay), unless the last one deleted a whole batch. */
  readonly everyMs: number;
  /** Messages deleted by one prune, at most. */
  readonly batchSize: number;
}

/** Something else the relay prunes on the same schedule: the mailed tokens, whose use ended with their expiry. */
export interface Prunable {
  /** For the log line. */
  readonly name: string;
  /** Rows whose use ended this long ago are deleted. */
  readonly retentionMs: number;
  prune(beforeMs: number, limit: number): Promise<number>;
}

/** What a relay claims: an id, a kind for the log, the attempt it is, and until when the claim holds. */
export interface RelayItem {
  readonly id: string;
  readonly kind: string;
  readonly attempts: number;
  readonly leaseUntil: number;
}

/** The queue a relay works on (the mail outbox's OutboxStore is one). */
export interface RelayStore<M extends RelayItem> {
  claim(claim: OutboxClaim): Promise<M[]>;
  markSent(id: string, owner: string, nowMs: number): Promise<boolean>;
  markFailed(id: string, failure: OutboxFailure): Promise<boolean>;
  prune(beforeMs: number, limit: number): Promise<number>;
}

/**
 * Where a relay hands what it claimed (a MailTransport is one). It resolves once the other side
 * took it; an error with `permanent: true` (MailTransportError's) says trying again cannot help.
 */
export interface RelayTransport<M extends RelayItem> {
  send(item: M): Promise<void>;
}

export interface RelayOptions<M extends RelayItem = ClaimedMessage> extends RelaySettings {
  readonly store: RelayStore<M>;
  readonly transport: RelayTransport<NoInfer<M>>;
  /** What it sends, for the log: `mail` (the default), `logout token`. */
  readonly label?: string;
  /** Says whom an item is for, in its `sent` and `failed` events (for an audit record); never a secret. */
  readonly about?: (item: M) => string;
  readonly clock: Clock;
  readonly timers?: RelayTimers;
  readonly random?: RandomSource;
  /** Unique per relay; default a random UUID. */
  readonly owner?: string;
  readonly log?: MailLog;
  /** Pruned with the outbox, on its schedule and batch size. */
  readonly alsoPrune?: readonly Prunable[];
}

/** What became of one claimed message. */
export type DeliveryOutcome = 'sent' | 'retry' | 'failed' | 'lease_lost' | 'unmarked';

/** A message this relay marked sent or gave up on. Never its body (it may carry a token). */
export interface DeliveryEvent {
  readonly id: string;
  readonly kind: string;
  /** The attempt that settled it. */
  readonly attempts: number;
  /** Why it was given up on (`failed` only). */
  readonly error?: string;
  /** Whom it was for, when the relay was given `about` (a logout token's client); never a secret. */
  readonly about?: string;
}

/**
 * The relay's events, emitted in this process only: `sent` once a message is marked sent, `failed`
 * once it is given up on, `idle` after a pass that found nothing due (and, when due, pruned).
 */
export interface RelayEvents {
  sent: [DeliveryEvent];
  failed: [DeliveryEvent];
  idle: [];
}

export class OutboxRelay<M extends RelayItem = ClaimedMessage> extends EventEmitter<RelayEvents> {
  readonly owner: string;
  private readonly timers: RelayTimers;
  private readonly random: RandomSource;
  private timer: unknown;
  private running: Promise<void> | undefined;
  private again = false;
  private started = false;
  private closed = false;
  /** drained() callers, settled by the first pass that begins after them and finds nothing due. */
  private drainWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  private nextPruneAt = Number.NEGATIVE_INFINITY;
  private readonly label: string;

  constructor(private readonly options: RelayOptions<M>) {
    super();
    this.label = options.label ?? 'mail';
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

  /**
   * Resolves after a pass that began after this call found nothing due: what was due then was sent,
   * given up on, or put off to a retry time still to come. Wakes the relay, and runs passes back to
   * back until then. Rejects when the relay is not started, or closes before.
   */
  drained(): Promise<void> {
    if (!this.started || this.closed) return Promise.reject(new Error(`the ${this.label} relay is not running`));
    return new Promise<void>((resolve, reject) => {
      this.drainWaiters.push({ resolve, reject });
      this.wake();
    });
  }

  /** Stops the loop and waits for the messages in hand to be settled. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    for (const waiter of this.drainWaiters.splice(0)) waiter.reject(new Error(`the ${this.label} relay closed`));
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
        // Woken after the pass chose its next run (its last awaits): run again now, not at the next poll.
        if (this.again) this.schedule(0);
      });
    }, ms);
  }

  private async tick(): Promise<void> {
    this.again = false;
    // Only those who asked before this pass began: a message queued just before they asked is seen by it.
    const waiters = this.drainWaiters.splice(0);
    let claimed: number | undefined;
    try {
      claimed = (await this.runOnce()).length;
    } catch (error) {
      // The database is away: the messages wait in it; the next poll tries again.
      this.options.log?.warn({ err: describe(error) }, `${this.label} relay: could not read the outbox`);
    }
    await this.pruneIfDue();
    if (claimed === 0) {
      for (const waiter of waiters) waiter.resolve();
      this.notify('idle', () => this.emit('idle'));
    } else {
      this.drainWaiters.unshift(...waiters);
    }
    const more = claimed !== undefined && (claimed >= this.options.batchSize || (claimed > 0 && this.drainWaiters.length > 0));
    const soon = more || this.again;
    this.again = false;
    this.schedule(soon ? 0 : this.options.pollMs);
  }

  /** Deletes a batch of messages finished before the retention, at most once per `everyMs` (again at once after a whole batch). */
  private async pruneIfDue(): Promise<void> {
    const pruning = this.options.pruning;
    const nowMs = this.options.clock.now();
    if (pruning === undefined || nowMs < this.nextPruneAt) return;
    this.nextPruneAt = nowMs + pruning.everyMs;
    const outbox: Prunable = {
      name: 'messages',
      retentionMs: pruning.retentionMs,
      prune: (before, limit) => this.options.store.prune(before, limit),
    };
    for (const prunable of [outbox, ...(this.options.alsoPrune ?? [])]) {
      try {
        const deleted = await prunable.prune(nowMs - prunable.retentionMs, pruning.batchSize);
        if (deleted >= pruning.batchSize) this.nextPruneAt = nowMs;
        if (deleted > 0) this.options.log?.info({ deleted }, `${this.label} relay: deleted ${prunable.name} past their retention`);
      } catch (error) {
        this.options.log?.warn({ err: describe(error) }, `${this.label} relay: could not delete old ${prunable.name}`);
      }
    }
  }

  /** Emits an event (`emit` does); a listener that throws is logged, and the relay goes on. */
  private notify(event: keyof RelayEvents, emit: () => void): void {
    try {
      emit();
    } catch (error) {
      this.options.log?.warn({ err: describe(error) }, `${this.label} relay: a listener of ${event} threw`);
    }
  }

  private aboutOf(message: M): { about?: string } {
    return this.options.about === undefined ? {} : { about: this.options.about(message) };
  }

  private async deliver(message: M): Promise<DeliveryOutcome> {
    const { store, transport, clock, log } = this.options;
    const label = this.label;
    const details = { [label === 'mail' ? 'mailId' : 'deliveryId']: message.id, kind: message.kind, attempt: message.attempts };
    // A claim that took longer than its lease (a stalled database): another sender may have it now.
    if (clock.now() >= message.leaseUntil) return 'lease_lost';
    try {
      await transport.send(message);
    } catch (error) {
      const permanent = isPermanent(error);
      const nowMs = clock.now();
      const retryAt = permanent ? undefined : nextAttemptAt(this.options.retry, message.attempts, nowMs, this.random);
      const reason = describe(error);
      const marked = await store
        .markFailed(message.id, { owner: this.owner, nowMs, retryAt, error: reason })
        .catch((markError: unknown) =>
          log?.warn({ ...details, err: describe(markError) }, `${label} relay: could not record a failed attempt`),
        );
      if (retryAt === undefined) {
        log?.error(
          { ...details, err: reason },
          permanent ? `${label} refused for good; given up` : `${label} not sent after the last attempt; given up`,
        );
        if (!marked) return 'unmarked';
        const event = { id: message.id, kind: message.kind, attempts: message.attempts, error: reason, ...this.aboutOf(message) };
        this.notify('failed', () => this.emit('failed', event));
        return 'failed';
      }
      log?.warn({ ...details, err: reason, retryInMs: retryAt - nowMs }, `${label} not sent; will try again`);
      return marked ? 'retry' : 'unmarked';
    }
    try {
      if (await store.markSent(message.id, this.owner, clock.now())) {
        const event = { id: message.id, kind: message.kind, attempts: message.attempts, ...this.aboutOf(message) };
        this.notify('sent', () => this.emit('sent', event));
        return 'sent';
      }
      log?.warn(details, `${label} sent, but its lease had passed to another sender, which may send it again`);
      return 'lease_lost';
    } catch (error) {
      log?.warn({ ...details, err: describe(error) }, `${label} sent, but not marked sent: it will be sent again when its lease ends`);
      return 'unmarked';
    }
  }
}

/** A refusal that says trying again cannot help (MailTransportError's `permanent`, and the back-channel transport's). */
function isPermanent(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { permanent?: unknown }).permanent === true;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
