/**
 * The change bus over PostgreSQL's own LISTEN/NOTIFY: every instance (and
 * every CLI command) that shares the database can publish, and every server
 * hears, with no other service to run or to lose. A dedicated connection
 * listens; while it is down (a restart, a network fault) `version()` is
 * undefined, so caches answer from the database instead of trusting what
 * they hold, and once it listens again the version moves, so they forget
 * everything from before the gap. Messages missed during the gap cannot
 * leave a stale "valid" answer behind.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { sql, type Kysely } from 'kysely';
import { decodeChange, encodeChange, type Change, type ChangeBus, type ChangeListener } from '../../core/change-bus.js';
import type { Database } from './schema.js';

export const CHANGE_CHANNEL = 'portcullis_changes';
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2_000;

export interface PostgresChangeBusOptions {
  readonly url: string;
  readonly connectTimeoutMs: number;
  /** Told about a failed publish or a lost listener (once per outage), and about recovery. */
  readonly onProblem?: (message: string, error?: unknown) => void;
}

export class PostgresChangeBus implements ChangeBus {
  private readonly origin = randomUUID();
  private readonly listeners: ChangeListener[] = [];
  private client: pg.Client | undefined;
  private listening = false;
  private epoch = 0;
  private retryMs = RETRY_MIN_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private reportedDown = false;
  private readonly sending = new Set<Promise<void>>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: PostgresChangeBusOptions,
  ) {}

  version(): number | undefined {
    return this.listening ? this.epoch : undefined;
  }

  publish(change: Change): void {
    const sent: Promise<void> = sql`select pg_notify(${CHANGE_CHANNEL}, ${encodeChange(this.origin, change)})`
      .execute(this.db)
      .then(
        () => undefined,
        (error: unknown) => this.options.onProblem?.('could not publish a change to the other instances', error),
      )
      .finally(() => this.sending.delete(sent));
    this.sending.add(sent);
  }

  /** The first subscriber starts the listening connection. */
  subscribe(listener: ChangeListener): void {
    this.listeners.push(listener);
    if (this.listeners.length === 1) void this.connect();
  }

  /** Sends what was published first (a CLI command exits right after its change), then stops listening. */
  async close(): Promise<void> {
    await Promise.all([...this.sending]);
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.listening = false;
    await this.client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({
      connectionString: this.options.url,
      connectionTimeoutMillis: this.options.connectTimeoutMs,
      application_name: 'portcullis-changes',
      keepAlive: true,
    });
    this.client = client;
    client.on('notification', (message) => {
      if (message.channel === CHANGE_CHANNEL && message.payload !== undefined) this.deliver(message.payload);
    });
    const lost = (error?: unknown) => {
      if (this.client !== client) return;
      this.client = undefined;
      this.listening = false;
      client.end().catch(() => undefined);
      this.down(error);
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      await client.query(`listen ${CHANGE_CHANNEL}`);
      if (this.client !== client) return;
      // A new epoch: whatever was cached before this connection listened may have missed a change.
      this.epoch += 1;
      this.listening = true;
      this.retryMs = RETRY_MIN_MS;
      if (this.reportedDown) this.options.onProblem?.('listening for changes again; caches were emptied');
      this.reportedDown = false;
    } catch (error) {
      lost(error);
    }
  }

  private down(error: unknown): void {
    if (this.closed) return;
    if (!this.reportedDown) {
      this.options.onProblem?.('lost the change listener: authentication reads the database until it is back', error);
      this.reportedDown = true;
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connect(), this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  private deliver(payload: string): void {
    const decoded = decodeChange(payload);
    if (!decoded || decoded.origin === this.origin) return;
    for (const listener of this.listeners) listener(decoded.change);
  }
}
