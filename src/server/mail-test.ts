/**
 * What `portcullis mail test` and `portcullis mail status` do, for the CLI to call: queue a test
 * message and wait (bounded) until it is sent or given up on, with a relay in this process too
 * (unless told to leave sending to the running servers); or count the outbox (ADR 0022). With the
 * relay here, the wait is on its events; without, the outbox is read every `checkEveryMs`, as
 * another process does the sending.
 */
import { systemClock } from '../core/clock.js';
import type { OutboxEntry, OutboxStats } from '../core/outbox/outbox-message.js';
import type { MailLog } from '../core/outbox/mail-transport.js';
import type { DeliveryEvent, OutboxRelay } from '../core/outbox/outbox-relay.js';
import type { OutboxStore } from '../core/ports.js';
import { openMail } from '../mail/open-mail.js';
import type { PortcullisConfig } from './config.js';
import { openStorage } from '../storage/sql/open-storage.js';

export { isMailAddress } from '../mail/settings.js';

export interface TestMailOptions {
  /** Longest wait for the outcome. */
  readonly timeoutMs: number;
  /** false: only queue it, and wait for a running server to send it. */
  readonly relay: boolean;
  readonly log: MailLog;
  /** How often the outbox is read while waiting without a relay in this process (default 200 ms). */
  readonly checkEveryMs?: number;
}

export type TestMailOutcome =
  | { readonly outcome: 'sent' | 'failed'; readonly entry: OutboxEntry }
  /** Neither within the time: still queued (and retried later by the servers). */
  | { readonly outcome: 'waiting'; readonly entry: OutboxEntry }
  | { readonly outcome: 'unavailable' };

export async function sendTestMail(config: PortcullisConfig, address: string, options: TestMailOptions): Promise<TestMailOutcome> {
  const storage = openStorage(config.database, { dataDir: config.dataDir });
  try {
    await storage.migrate();
    const channel = openMail({
      config: config.mail,
      production: config.production,
      store: storage.outbox,
      clock: systemClock,
      log: options.log,
    });
    if (!channel.mailer.available || !channel.relay) return { outcome: 'unavailable' };
    const relay = channel.relay;
    try {
      const message = await channel.mailer.send('test', address, { to: address });
      if (options.relay) {
        // Listening before the relay starts: its first pass may settle the message.
        const settled = settledBy(relay, storage.outbox, message.id, options.timeoutMs);
        channel.start();
        await settled;
      } else {
        await polled(storage.outbox, message.id, options.timeoutMs, options.checkEveryMs ?? 200);
      }
      const entry = await storage.outbox.find(message.id);
      if (entry === undefined) throw new Error(`the test message ${message.id} left the outbox`);
      return { outcome: entry.status === 'queued' ? 'waiting' : entry.status, entry };
    } finally {
      await channel.close();
    }
  } finally {
    await storage.close();
  }
}

/**
 * Resolves when this process's relay marks the message sent or gives up on it; or at a pass of it
 * that found nothing due, when the message is settled already (a running server may have claimed it
 * first); or after `timeoutMs`.
 */
function settledBy(relay: OutboxRelay, store: OutboxStore, id: string, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const onOutcome = (event: DeliveryEvent) => {
      if (event.id === id) done();
    };
    const onIdle = () => {
      store.find(id).then(
        (entry) => (entry?.status === 'queued' ? undefined : done()),
        () => undefined,
      );
    };
    const timer = setTimeout(done, timeoutMs);
    function done(): void {
      clearTimeout(timer);
      relay.off('sent', onOutcome).off('failed', onOutcome).off('idle', onIdle);
      resolve();
    }
    relay.on('sent', onOutcome).on('failed', onOutcome).on('idle', onIdle);
  });
}

/** Without a relay here, the sender is another process: reads the message's row every `everyMs` until it is settled, or `timeoutMs`. */
async function polled(store: OutboxStore, id: string, timeoutMs: number, everyMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && (await store.find(id))?.status === 'queued') {
    await new Promise((resolve) => setTimeout(resolve, Math.min(everyMs, Math.max(0, deadline - Date.now()))));
  }
}

export async function outboxStatus(config: PortcullisConfig): Promise<OutboxStats> {
  const storage = openStorage(config.database, { dataDir: config.dataDir });
  try {
    await storage.migrate();
    return await storage.outbox.stats(Date.now());
  } finally {
    await storage.close();
  }
}
