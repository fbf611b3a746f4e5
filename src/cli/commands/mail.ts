/** `portcullis mail test ADDRESS` and `portcullis mail status` (the work is in src/server/mail-test.ts). */
import { configFromEnv } from '../../server/config-from-env.js';
import { EXIT_FAILURE, EXIT_OK } from '../../server/exit-codes.js';
import { isMailAddress, outboxStatus, sendTestMail } from '../../server/mail-test.js';
import { integerOption } from '../options.js';
import { UsageError } from '../prompt.js';
import { printJson, printTable } from '../table.js';

export interface MailTestOptions {
  readonly timeout?: string;
  /** --no-relay: leave the sending to the running servers. */
  readonly relay?: boolean;
}

const stderrLog = {
  info: (_details: object, message: string) => console.error(`portcullis: ${message}`),
  warn: (details: object, message: string) => console.error(`portcullis: warning: ${message}${describe(details)}`),
  error: (details: object, message: string) => console.error(`portcullis: ${message}${describe(details)}`),
};

function describe(details: object): string {
  const err = (details as { err?: unknown }).err;
  return typeof err === 'string' ? ` (${err})` : '';
}

export async function mailTestCommand(address: string, options: MailTestOptions): Promise<number> {
  if (!isMailAddress(address)) throw new UsageError(`not an e-mail address: ${JSON.stringify(address)}`);
  const timeoutSeconds = integerOption(options.timeout, '--timeout', 1, 3600) ?? 30;
  const config = configFromEnv(process.env, { secretKeyRequired: false });
  const result = await sendTestMail(config, address, { timeoutMs: timeoutSeconds * 1000, relay: options.relay ?? true, log: stderrLog });
  switch (result.outcome) {
    case 'unavailable':
      console.error('portcullis: mail is not configured: set SMTP_URL (or MAIL_WEBHOOK_URL); see docs/mail.md');
      return EXIT_FAILURE;
    case 'sent':
      console.log(`sent to ${address} (message ${result.entry.id}, attempt ${result.entry.attempts})`);
      return EXIT_OK;
    case 'failed':
      console.error(`portcullis: not sent to ${address}, given up: ${result.entry.lastError ?? 'unknown error'}`);
      return EXIT_FAILURE;
    case 'waiting':
      console.error(
        `portcullis: not sent within ${timeoutSeconds} s (${result.entry.attempts} attempts${result.entry.lastError ? `, last error: ${result.entry.lastError}` : ''}); ` +
          'it stays in the outbox and the servers keep trying',
      );
      return EXIT_FAILURE;
  }
}

export async function mailStatusCommand(options: { json?: boolean }): Promise<void> {
  const config = configFromEnv(process.env, { secretKeyRequired: false });
  const stats = await outboxStatus(config);
  if (options.json) {
    printJson(stats);
    return;
  }
  printTable(
    ['queued', 'sending', 'sent', 'failed', 'oldest queued'],
    [
      [
        String(stats.queued),
        String(stats.sending),
        String(stats.sent),
        String(stats.failed),
        `${Math.round(stats.oldestQueuedAgeMs / 1000)} s`,
      ],
    ],
  );
}
