/**
 * The change bus over PostgreSQL's LISTEN/NOTIFY: every instance and CLI command sharing the database
 * publishes, every server hears. While the listening connection is down `version()` is undefined (caches read
 * the database), and it moves once listening resumes, so nothing missed in the gap survives. `confirm()` lets a
 * sender wait until every other listener (counted in pg_stat_activity by application_name) has applied what it
 * heard (ADR 0005).
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { loadPg } from './lazy-pg.js';
import { sql, type Kysely } from 'kysely';
import {
  decodeMessage,
  encodeChange,
  encodeConfirmation,
  encodeConfirmRequest,
  type Change,
  type ChangeBus,
  type ChangeListener,
  type Confirmation,
} from '../../core/change-bus.js';
import type { Database } from './schema.js';

export const CHANGE_CHANNEL = 'portcullis_changes';
/** The application_name of every listening connection: how a sender counts who should confirm. */
export const LISTENER_APPLICATION_NAME = 'portcullis-changes';
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
  private started = false;
  /** The listening connection's backend pid (not counted among those that must confirm). */
  private listenerPid: number | undefined;
  /** Called each time the bus starts listening. */
  private readonly onListening = new Set<() => void>();
  /** Changes published since the last confirm(). */
  private unconfirmed = 0;
  /** What the listeners started for the changes heard so far (a key reload): settled before confirming. */
  private applying: Promise<unknown> = Promise.resolve();
  /** Open confirmation requests of this process: who answered each. */
  private readonly answers = new Map<string, { readonly from: Set<string>; readonly answered: () => void }>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: PostgresChangeBusOptions,
  ) {}

  version(): number | undefined {
    return this.listening ? this.epoch : undefined;
  }

  publish(change: Change): void {
    this.unconfirmed += 1;
    this.send(encodeChange(this.origin, change), 'could not publish a change to the other instances');
  }

  /** The first subscriber starts the listening connection. */
  subscribe(listener: ChangeListener): void {
    this.listeners.push(listener);
    this.start();
  }

  async confirm(timeoutMs: number): Promise<Confirmation> {
    if (this.unconfirmed === 0) return { listening: 0, confirmed: 0 };
    this.unconfirmed = 0;
    const deadline = Date.now() + timeoutMs;
    // Hear the answers first; then every change is committed (so delivered) before the request.
    this.start();
    if (!(await this.waitUntil(() => this.listening, deadline))) throw new Error('the change listener could not connect');
    await Promise.all([...this.sending]);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
      where datname = current_database() and application_name = ${LISTENER_APPLICATION_NAME} and pid <> ${this.listenerPid ?? 0}`.execute(
      this.db,
    );
    const listening = rows[0]?.n ?? 0;
    if (listening === 0) return { listening, confirmed: 0 };
    const id = randomUUID();
    const from = new Set<string>();
    let answered = () => {};
    this.answers.set(id, { from, answered: () => answered() });
    try {
      this.send(encodeConfirmRequest(this.origin, id), 'could not ask the other instances to confirm');
      await this.waitUntil(
        () => from.size >= listening,
        deadline,
        (wake) => (answered = wake),
      );
    } finally {
      this.answers.delete(id);
    }
    return { listening, confirmed: from.size };
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

  private start(): void {
    if (this.started) return;
    this.started = true;
    void this.connect();
  }

  private send(payload: string, problem: string): void {
    const sent: Promise<void> = sql`select pg_notify(${CHANGE_CHANNEL}, ${payload})`
      .execute(this.db)
      .then(
        () => undefined,
        (error: unknown) => this.options.onProblem?.(problem, error),
      )
      .finally(() => this.sending.delete(sent));
    this.sending.add(sent);
  }

  /** Resolves true once `condition` holds (checked when `subscribeWake`'s callback or the bus's listening wakes it), false at the deadline. */
  private waitUntil(condition: () => boolean, deadline: number, subscribeWake?: (wake: () => void) => void): Promise<boolean> {
    if (condition()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (result: boolean) => {
        clearTimeout(timer);
        this.onListening.delete(check);
        resolve(result);
      };
      const check = () => {
        if (condition()) finish(true);
      };
      const timer = setTimeout(() => finish(condition()), Math.max(0, deadline - Date.now()));
      this.onListening.add(check);
      subscribeWake?.(check);
    });
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new (loadPg().Client)({
      connectionString: this.options.url,
      connectionTimeoutMillis: this.options.connectTimeoutMs,
      application_name: LISTENER_APPLICATION_NAME,
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
      const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
      if (this.client !== client) return;
      this.listenerPid = rows[0]?.pid;
      // A new epoch: whatever was cached before this connection listened may have missed a change.
      this.epoch += 1;
      this.listening = true;
      for (const wake of [...this.onListening]) wake();
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
    const message = decodeMessage(payload);
    if (!message || message.origin === this.origin) return;
    if ('change' in message) {
      for (const listener of this.listeners) {
        const applied = listener(message.change);
        // A failed reload is no reason to hold confirmations back: the keys in hand stay superseded
        // (their ring loads again before any use), so nothing answers from the old state either way.
        if (applied !== undefined) this.applying = Promise.all([this.applying, applied.catch(() => undefined)]);
      }
    } else if ('confirm' in message) {
      const id = message.confirm;
      void this.applying.then(() => this.send(encodeConfirmation(this.origin, id), 'could not confirm a change to its sender'));
    } else {
      const request = this.answers.get(message.confirmed);
      request?.from.add(message.origin);
      request?.answered();
    }
  }
}
