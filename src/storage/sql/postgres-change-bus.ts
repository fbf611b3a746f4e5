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
import type pg from 'pg';
import { loadPg } from './lazy-pg.js';
import { sql, type Kysely } from 'kysely';
import { decodeChange, encodeChange, type Change, type ChangeBus, type ChangeListener } from '../../core/change-bus.js';
import type { Database } from './schema.js';

export const CHANGE_CHANNEL = 'portcullis_changes';
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2_000;
/** How often the listening connection proves it is alive (a partition sends no reset). */
const HEARTBEAT_MS = 1_000;
/** Failed first connections (a busy start) before it is worth a log line. */
const QUIET_START_FAILURES = 3;

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
  private failures = 0;
  private heartbeat: NodeJS.Timeout | undefined;
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
    clearInterval(this.heartbeat);
    this.listening = false;
    await this.client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new (loadPg().Client)({
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
      const wasListening = this.listening;
      this.client = undefined;
      this.listening = false;
      clearInterval(this.heartbeat);
      // Destroy rather than end(): over a partitioned link a polite goodbye would wait forever.
      (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
      this.down(error, wasListening);
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
      this.failures = 0;
      if (this.reportedDown) this.options.onProblem?.('listening for changes again; caches were emptied');
      this.reportedDown = false;
      // A connection that stops delivering without a reset (a partition) would otherwise count as listening
      // while notifications are held back: an unanswered heartbeat counts as lost, so caches stop trusting.
      this.heartbeat = setInterval(() => {
        const timer = setTimeout(() => lost(new Error('the change listener stopped answering')), this.options.connectTimeoutMs);
        client.query('select 1').then(
          () => clearTimeout(timer),
          (error: unknown) => {
            clearTimeout(timer);
            lost(error);
          },
        );
      }, HEARTBEAT_MS);
      this.heartbeat.unref();
    } catch (error) {
      lost(error);
    }
  }

  private down(error: unknown, wasListening: boolean): void {
    if (this.closed) return;
    this.failures += 1;
    // A start on a busy machine may miss pg's connect timer once or twice: not worth alarming anyone.
    if (!this.reportedDown && (wasListening || this.failures >= QUIET_START_FAILURES)) {
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
