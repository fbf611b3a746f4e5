/**
 * What `portcullis mail test` and `portcullis mail status` do, for the CLI to call: queue a test
 * message and wait (bounded) until it is sent or given up on, with a relay in this process too
 * (unless told to leave sending to the running servers); or count the outbox (ADR 0022).
 */
import { systemClock } from '../core/clock.js';
import type { OutboxEntry, OutboxStats } from '../core/outbox/outbox-message.js';
import type { MailLog } from '../core/outbox/mail-transport.js';
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
  /** How often the outbox is read while waiting (default 200 ms). */
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
    if (!channel.mailer.available) return { outcome: 'unavailable' };
    try {
      const message = await channel.mailer.send('test', address, { to: address });
      if (options.relay) channel.start();
      const deadline = Date.now() + options.timeoutMs;
      for (;;) {
        const entry = await storage.outbox.find(message.id);
        if (entry === undefined) throw new Error(`the test message ${message.id} left the outbox`);
        if (entry.status !== 'queued') return { outcome: entry.status, entry };
        if (Date.now() >= deadline) return { outcome: 'waiting', entry };
        await new Promise((resolve) => setTimeout(resolve, options.checkEveryMs ?? 200));
      }
    } finally {
      await channel.close();
    }
  } finally {
    await storage.close();
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
