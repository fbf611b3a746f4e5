/**
 * Group commit for SQLite (SQLITE_GROUP_COMMIT=on, the default): a Kysely driver in which transactions that
 * overlap in time share one real COMMIT, and so one fsync, each answered only after that COMMIT has returned.
 * A batch is one BEGIN IMMEDIATE transaction with a SAVEPOINT per Kysely transaction, committed at the end of
 * the event-loop turn; reads outside transactions go to a second, query_only connection that sees committed
 * data only. Why, the rules every member of a batch follows, what it measured and its caveats: ADR 0011.
 */
import { performance } from 'node:perf_hooks';
import type BetterSqlite3 from 'better-sqlite3';
import {
  DeleteQueryNode,
  IdentifierNode,
  InsertQueryNode,
  RawNode,
  SelectQueryNode,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  UpdateQueryNode,
  createQueryId,
  type CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';

/** A batch commits once it holds this many transactions (and joined statements). */
export const MAX_TRANSACTIONS = 256;
/**
 * ... or, at the end of one of its transactions, once it has been open this long. It commits at the
 * end of the event-loop turn anyway; this bounds a turn that runs long (a burst of requests), where
 * committing sooner answers the first of them sooner, at the cost of one more sync.
 */
export const MAX_HOLD_MS = 20;

/** What one real COMMIT (or its failure) carried: for tests and metrics. */
export interface GroupCommitEvent {
  /** Transactions and non-transactional writes that the COMMIT made durable (or failed). */
  readonly transactions: number;
  /** Set when the COMMIT failed; every one of them failed with it. */
  readonly error?: unknown;
}

export interface GroupCommitOptions {
  /** The connection every write and every transaction goes through. */
  readonly database: BetterSqlite3.Database;
  /** A second connection to the same file, for reads outside transactions (committed data only). */
  readonly reader: BetterSqlite3.Database;
  readonly maxTransactions?: number;
  readonly maxHoldMs?: number;
  /** Told after every real COMMIT of a batch. */
  readonly onCommit?: (event: GroupCommitEvent) => void;
}

export class SqliteGroupCommitDialect implements Dialect {
  constructor(private readonly options: GroupCommitOptions) {}

  createDriver(): Driver {
    return new GroupCommitDriver(this.options);
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}

/** One open batch: a real SQLite transaction that several Kysely transactions share. */
interface Batch {
  /** Members whose savepoint was released (and joined statements): what the COMMIT carries. */
  transactions: number;
  readonly startedAt: number;
  /** Settles with the batch's COMMIT. */
  readonly committed: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
  /** Set when the batch was lost before its COMMIT (SQLite rolled it back, or a savepoint could not be undone). */
  failure?: { readonly error: unknown };
}

/** One acquisition of the connection: Kysely's DatabaseConnection, so that a transaction can hand the connection on before it is released. */
class Lease implements DatabaseConnection {
  /** Holds the connection (the mutex). False once handed on at a commit, until used again. */
  attached = true;
  /** The batch of the transaction open on this lease. */
  member: Batch | undefined;
  /** A read-only transaction is open on this lease, on the reader connection. */
  readOnly = false;

  constructor(private readonly driver: GroupCommitDriver) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.driver.execute<R>(this, query);
  }

  streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    return this.driver.stream<R>(this, query);
  }
}

/** First come, first served: the connection goes to waiters in the order they asked. */
class Mutex {
  #held = false;
  readonly #waiters: Array<() => void> = [];

  lock(): Promise<void> {
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  unlock(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#held = false;
  }
}

const MEMBER_SAVEPOINT = 'portcullis_member';
/** Prepared statements kept per connection, by SQL text (Kysely prepares every query anew). */
const STATEMENT_CACHE_SIZE = 256;

/** A connection's prepared statements, by SQL text; the oldest goes when it is full. */
class Statements {
  readonly #cache = new Map<string, BetterSqlite3.Statement>();

  constructor(readonly connection: BetterSqlite3.Database) {}

  get(sql: string): BetterSqlite3.Statement {
    let statement = this.#cache.get(sql);
    if (statement === undefined) {
      statement = this.connection.prepare(sql);
      if (this.#cache.size >= STATEMENT_CACHE_SIZE) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(sql, statement);
    }
    return statement;
  }
}
const READ = /^\s*(?:select|with)\b/i;

class GroupCommitDriver implements Driver {
  readonly #writer: BetterSqlite3.Database;
  readonly #reader: BetterSqlite3.Database;
  readonly #writes: Statements;
  readonly #reads: Statements;
  readonly #maxTransactions: number;
  readonly #maxHoldMs: number;
  readonly #onCommit: ((event: GroupCommitEvent) => void) | undefined;
  readonly #mutex = new Mutex();
  #batch: Batch | undefined;
  /** The lease whose transaction is open in the batch (at most one: the connection is used in turn). */
  #open: Lease | undefined;
  #flush: NodeJS.Immediate | undefined;
  #begin: BetterSqlite3.Statement | undefined;
  #savepoint: BetterSqlite3.Statement | undefined;
  #release: BetterSqlite3.Statement | undefined;
  #rollbackTo: BetterSqlite3.Statement | undefined;
  #commit: BetterSqlite3.Statement | undefined;
  #rollback: BetterSqlite3.Statement | undefined;
  #readBegin: BetterSqlite3.Statement | undefined;
  #readEnd: BetterSqlite3.Statement | undefined;

  constructor(options: GroupCommitOptions) {
    this.#writer = options.database;
    this.#reader = options.reader;
    this.#writes = new Statements(this.#writer);
    this.#reads = new Statements(this.#reader);
    this.#maxTransactions = options.maxTransactions ?? MAX_TRANSACTIONS;
    this.#maxHoldMs = options.maxHoldMs ?? MAX_HOLD_MS;
    this.#onCommit = options.onCommit;
  }

  async init(): Promise<void> {
    const writer = this.#writer;
    this.#begin = writer.prepare('BEGIN IMMEDIATE');
    this.#savepoint = writer.prepare(`SAVEPOINT ${MEMBER_SAVEPOINT}`);
    this.#release = writer.prepare(`RELEASE ${MEMBER_SAVEPOINT}`);
    this.#rollbackTo = writer.prepare(`ROLLBACK TO ${MEMBER_SAVEPOINT}`);
    this.#commit = writer.prepare('COMMIT');
    this.#rollback = writer.prepare('ROLLBACK');
    this.#readBegin = this.#reader.prepare('BEGIN');
    this.#readEnd = this.#reader.prepare('COMMIT');
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.#mutex.lock();
    return new Lease(this);
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const lease = connection as Lease;
    // Handed on already, when its transaction went to wait for the batch's COMMIT.
    if (!lease.attached) return;
    // Released with its transaction still open (a controlled transaction left behind): undo it.
    if (lease.member) this.#undoMember(lease);
    if (lease.readOnly) this.#endRead(lease);
    lease.attached = false;
    this.#mutex.unlock();
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const lease = connection as Lease;
    await this.#attach(lease);
    if (lease.member || lease.readOnly) throw new Error('a transaction is already open on this connection');
    if (settings.accessMode === 'read only') {
      // On the reader: a snapshot of committed data that takes no write lock and waits for no batch
      // (a `db copy` from a live database). Its statements may not write (query_only).
      this.#readBegin!.run();
      lease.readOnly = true;
      return;
    }
    let batch = this.#batch;
    // Gone under us (a raw ROLLBACK or COMMIT run inside a transaction): its members cannot be answered as committed.
    if (batch && !this.#writer.inTransaction) {
      this.#failBatch(batch, new Error('the group-commit transaction ended outside the driver'));
      batch = undefined;
    }
    if (!batch) {
      // May wait up to busy_timeout for another process's write lock, and throw SQLITE_BUSY, as a first write did before.
      this.#begin!.run();
      batch = this.#batch = newBatch();
    }
    try {
      this.#savepoint!.run();
    } catch (error) {
      this.#afterStatementError(batch, error);
      this.#afterMember(batch);
      throw error;
    }
    lease.member = batch;
    this.#open = lease;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const lease = connection as Lease;
    if (lease.readOnly) {
      this.#endRead(lease);
      return;
    }
    const batch = lease.member;
    if (!batch) throw new Error('no transaction is open on this connection');
    lease.member = undefined;
    this.#open = undefined;
    if (batch.failure) throw batch.failure.error;
    if (!this.#writer.inTransaction) {
      const error = new Error('the group-commit transaction ended outside the driver');
      this.#failBatch(batch, error);
      throw error;
    }
    try {
      this.#release!.run();
    } catch (error) {
      // Cannot tell what is left of the batch: give it up, every member fails.
      this.#failBatch(batch, error);
      throw error;
    }
    batch.transactions += 1;
    // Hand the connection on now: whoever waits for it joins this batch while this transaction waits for the COMMIT.
    this.#detach(lease);
    this.#afterMember(batch);
    return batch.committed;
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const lease = connection as Lease;
    if (lease.readOnly) {
      this.#endRead(lease);
      return;
    }
    // Nothing open: it was committed into a batch whose COMMIT failed (already rolled back), or never began.
    if (!lease.member) return;
    const batch = lease.member;
    this.#undoMember(lease);
    if (batch.failure || this.#batch !== batch) return;
    if (batch.transactions === 0) {
      // It saw no one else's uncommitted writes: answer now, and free the write lock unless others are in it.
      this.#afterMember(batch);
      return;
    }
    // Its error may stem from the batch's uncommitted writes (a unique key taken): answer after they are durable.
    this.#detach(lease);
    this.#afterMember(batch);
    await batch.committed;
  }

  async savepoint(connection: DatabaseConnection, name: string, compileQuery: QueryCompiler['compileQuery']): Promise<void> {
    await connection.executeQuery(compileQuery(savepointCommand('savepoint', name), createQueryId()));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string, compileQuery: QueryCompiler['compileQuery']): Promise<void> {
    await connection.executeQuery(compileQuery(savepointCommand('rollback to', name), createQueryId()));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string, compileQuery: QueryCompiler['compileQuery']): Promise<void> {
    await connection.executeQuery(compileQuery(savepointCommand('release', name), createQueryId()));
  }

  async destroy(): Promise<void> {
    // Let whoever holds or waits for the connection finish first (after one turn, so that work
    // started just before, still on its way to ask for the connection, gets there), then commit
    // what is pending.
    await new Promise((resolve) => setImmediate(resolve));
    await this.#mutex.lock();
    try {
      if (this.#batch) this.#commitBatch(this.#batch);
    } finally {
      if (this.#flush) clearImmediate(this.#flush);
      this.#flush = undefined;
      this.#reader.close();
      this.#writer.close();
      this.#mutex.unlock();
    }
  }

  async execute<R>(lease: Lease, query: CompiledQuery): Promise<QueryResult<R>> {
    await this.#attach(lease);
    if (lease.readOnly) return run<R>(this.#reads.get(query.sql), query.parameters);
    const batch = lease.member;
    if (batch) {
      // Inside a transaction: on the batch's connection.
      if (batch.failure) throw batch.failure.error;
      try {
        return run<R>(this.#writes.get(query.sql), query.parameters);
      } catch (error) {
        this.#afterStatementError(batch, error);
        throw error;
      }
    }
    if (SelectQueryNode.is(query.query) || READ.test(query.sql)) {
      const statement = this.#reads.get(query.sql);
      if (statement.readonly) return run<R>(statement, query.parameters);
    }
    const open = this.#batch;
    if (open && (InsertQueryNode.is(query.query) || UpdateQueryNode.is(query.query) || DeleteQueryNode.is(query.query))) {
      return this.#joinAndCommit<R>(open, query);
    }
    if (open) this.#commitBatch(open);
    return run<R>(this.#writes.get(query.sql), query.parameters);
  }

  async *stream<R>(lease: Lease, query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    await this.#attach(lease);
    if (!SelectQueryNode.is(query.query)) throw new Error('Sqlite driver only supports streaming of select queries');
    if (lease.member?.failure) throw lease.member.failure.error;
    // Outside a transaction, and in a read-only one, on the reader (not cached: a statement being iterated is busy).
    const statement = (lease.member ? this.#writer : this.#reader).prepare(query.sql);
    for (const row of statement.iterate(query.parameters as unknown[])) {
      yield { rows: [row as R] };
    }
  }

  /** A write outside a transaction while a batch is open: run it in the batch, commit both now, answer after the COMMIT. */
  async #joinAndCommit<R>(batch: Batch, query: CompiledQuery): Promise<QueryResult<R>> {
    let result: QueryResult<R> | undefined;
    let failed: { error: unknown } | undefined;
    try {
      result = run<R>(this.#writes.get(query.sql), query.parameters);
      batch.transactions += 1;
    } catch (error) {
      // The statement alone is undone (SQLite's statement rollback), unless SQLite gave up the whole transaction.
      failed = { error };
      this.#afterStatementError(batch, error);
    }
    this.#commitBatch(batch);
    // After the COMMIT even when the statement failed: its error may stem from the batch's writes.
    await batch.committed;
    if (failed) throw failed.error;
    return result!;
  }

  /** Waits for the connection again when a lease that handed it on at a commit is used once more (a `db.connection()` scope). */
  async #attach(lease: Lease): Promise<void> {
    if (lease.attached) return;
    await this.#mutex.lock();
    lease.attached = true;
  }

  #endRead(lease: Lease): void {
    lease.readOnly = false;
    if (this.#reader.inTransaction) this.#readEnd!.run();
  }

  #detach(lease: Lease): void {
    lease.attached = false;
    this.#mutex.unlock();
  }

  /** Rolls back the transaction open on `lease` to its savepoint; the batch goes on for the others. */
  #undoMember(lease: Lease): void {
    const batch = lease.member!;
    lease.member = undefined;
    if (this.#open === lease) this.#open = undefined;
    if (batch.failure || this.#batch !== batch) return;
    try {
      this.#rollbackTo!.run();
      this.#release!.run();
    } catch (error) {
      // Cannot tell what is left of the batch: give it up rather than commit something half undone.
      this.#failBatch(batch, error);
    }
  }

  /** After a statement failed in the batch: some errors make SQLite roll back the whole transaction, and then every member fails. */
  #afterStatementError(batch: Batch, error: unknown): void {
    if (!this.#writer.inTransaction) this.#failBatch(batch, error);
  }

  /** After a member's transaction ended (or a new batch could not take its first): commit now, or at the end of this turn. */
  #afterMember(batch: Batch): void {
    if (this.#batch !== batch) return;
    if (batch.transactions === 0 || batch.transactions >= this.#maxTransactions || performance.now() - batch.startedAt >= this.#maxHoldMs) {
      this.#commitBatch(batch);
    } else if (!this.#flush) {
      this.#flush = setImmediate(this.#flushBatch);
    }
  }

  readonly #flushBatch = (): void => {
    this.#flush = undefined;
    const batch = this.#batch;
    // A transaction still open in the batch: its end schedules the commit again.
    if (batch && !this.#open) this.#commitBatch(batch);
  };

  #commitBatch(batch: Batch): void {
    if (this.#batch !== batch) return;
    this.#batch = undefined;
    if (this.#flush) {
      clearImmediate(this.#flush);
      this.#flush = undefined;
    }
    if (batch.transactions === 0) {
      // Nothing to keep (every member rolled back): let go of the write lock without a sync.
      if (this.#writer.inTransaction) rollbackQuietly(this.#rollback!);
      batch.resolve();
      return;
    }
    try {
      this.#commit!.run();
    } catch (error) {
      if (this.#writer.inTransaction) rollbackQuietly(this.#rollback!);
      batch.reject(error);
      this.#onCommit?.({ transactions: batch.transactions, error });
      return;
    }
    batch.resolve();
    this.#onCommit?.({ transactions: batch.transactions });
  }

  /** The batch is lost: roll back what is left of it and fail its members. */
  #failBatch(batch: Batch, error: unknown): void {
    batch.failure = { error };
    if (this.#batch === batch) {
      this.#batch = undefined;
      if (this.#flush) {
        clearImmediate(this.#flush);
        this.#flush = undefined;
      }
      if (this.#writer.inTransaction) rollbackQuietly(this.#rollback!);
    }
    batch.reject(error);
  }
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const committed = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Members await it; without members (all rolled back) a failure has no one to tell.
  committed.catch(() => undefined);
  return { transactions: 0, startedAt: performance.now(), committed, resolve, reject };
}

function run<R>(statement: BetterSqlite3.Statement, parameters: readonly unknown[]): QueryResult<R> {
  if (statement.reader) return { rows: statement.all(parameters) as R[] };
  const { changes, lastInsertRowid } = statement.run(parameters);
  return {
    numAffectedRows: changes !== undefined && changes !== null ? BigInt(changes) : undefined,
    insertId: lastInsertRowid !== undefined && lastInsertRowid !== null ? BigInt(lastInsertRowid) : undefined,
    rows: [],
  };
}

function rollbackQuietly(rollback: BetterSqlite3.Statement): void {
  try {
    rollback.run();
  } catch {
    // Nothing more to undo: the members fail with the error that got here.
  }
}

function savepointCommand(command: string, name: string): RawNode {
  // As Kysely's own parseSavepointCommand: the name goes through the identifier quoting.
  return RawNode.createWithChildren([RawNode.createWithSql(`${command} `), IdentifierNode.create(name)]);
}
