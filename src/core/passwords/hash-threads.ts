/**
 * Password hashing on threads of its own, at a lower scheduling priority than the event loop
 * (HASH_THREAD_NICE, default 10 on Linux), each thread keeping a second task queued in its port. A thread
 * that dies fails the tasks it held and is replaced. Admission control stays with the WorkLimiter in front of
 * this. Why not libuv's pool, and what that measured: ADR 0007.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Argon2Parameters } from '../config.js';

export type HashTask =
  | { readonly id: number; readonly op: 'argon2-hash'; readonly password: string; readonly params: Argon2Parameters }
  | { readonly id: number; readonly op: 'argon2-verify'; readonly hash: string; readonly password: string }
  | { readonly id: number; readonly op: 'bcrypt-verify'; readonly hash: string; readonly password: string }
  /** An imported hash computed with node:crypto (PBKDF2, scrypt, SHA-crypt, phpass, salted SHA: legacy/hash-formats.ts). */
  | { readonly id: number; readonly op: 'legacy-verify'; readonly hash: string; readonly password: string };

/** What a task is, without the id the pool gives it. */
export type HashJob = HashTask extends infer T ? (T extends HashTask ? Omit<T, 'id'> : never) : never;

export type HashTaskResult =
  | { readonly id: number; readonly ok: true; readonly value: string | boolean }
  | { readonly id: number; readonly ok: false; readonly message: string };

export interface HashThreadData {
  readonly nice: number;
}

/** How many tasks a thread holds at once: the one it runs and the next. */
export const TASKS_PER_THREAD = 2;

/** The worker: the .js file beside this one in dist/; under tsx (the tests), the .ts one, loaded through tsx's API. */
function workerScript(): { readonly script: URL | string; readonly eval: boolean } {
  const extension = extname(fileURLToPath(import.meta.url));
  const url = new URL(`./hash-thread-worker${extension}`, import.meta.url);
  if (extension !== '.ts') return { script: url, eval: false };
  const api = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  return { script: `import(${api}).then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); });`, eval: true };
}
const WORKER = workerScript();

interface Pending {
  readonly resolve: (value: string | boolean) => void;
  readonly reject: (error: Error) => void;
}

class HashThread {
  readonly pending = new Map<number, Pending>();
  readonly worker: Worker;
  /** The nice value the thread runs at (null: could not be set), once it has started. */
  readonly started: Promise<number | null>;
  private running = false;
  private exited = false;

  /** Set by stop(): from then on the thread stays referenced until it has exited. */
  private stopping = false;

  /** `onExit` learns whether the thread had started: one that could not start is not worth restarting. */
  constructor(nice: number, createWorker: CreateHashWorker, onExit: (thread: HashThread, hadStarted: boolean) => void) {
    this.worker = createWorker({ nice });
    // Referenced only while it holds tasks: an idle pool never keeps the process alive.
    this.worker.unref();
    let started: (nice: number | null) => void = () => undefined;
    this.started = new Promise((resolve, reject) => {
      started = resolve;
      this.worker.once('error', reject);
      this.worker.once('exit', () => reject(new Error('hashing thread exited before it started')));
    });
    this.started.catch(() => undefined);
    this.worker.on('message', (message: HashTaskResult | { readonly ready: true; readonly nice: number | null }) => {
      if ('ready' in message) {
        this.running = true;
        started(message.nice);
      } else {
        this.settle(message);
      }
    });
    this.worker.on('error', (error) => this.failAll(error));
    this.worker.once('exit', (code) => {
      this.exited = true;
      this.failAll(new Error(`hashing thread exited (code ${code})`));
      onExit(this, this.running);
    });
  }

  post(task: HashTask, pending: Pending): void {
    if (this.exited) return pending.reject(new Error('hashing thread exited'));
    if (this.pending.size === 0) this.worker.ref();
    this.pending.set(task.id, pending);
    this.worker.postMessage(task);
  }

  /** Ends the thread; resolves once it has exited (tasks it still holds fail, unless their answer was already on its way). */
  stop(): Promise<number> {
    this.stopping = true;
    return this.worker.terminate();
  }

  private settle(result: HashTaskResult): void {
    const pending = this.pending.get(result.id);
    if (!pending) return;
    this.pending.delete(result.id);
    if (this.pending.size === 0) this.release();
    if (result.ok) pending.resolve(result.value);
    else pending.reject(new Error(result.message));
  }

  private failAll(error: Error): void {
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
    this.release();
  }

  /**
   * An idle thread does not keep the process alive; a stopping one must, until its exit is
   * reported. terminate() references the worker for that, and Node reports the exit through a
   * callback that does not itself keep the event loop running: an unref() after terminate() (an
   * answer that was already on its way when stop() was called) would let the loop end with
   * close() still pending, and a process awaiting it at top level (bin/portcullis.js) would exit
   * with code 13, "unsettled top-level await".
   */
  private release(): void {
    if (!this.stopping) this.worker.unref();
  }
}

/** Starts one hashing thread's Worker with this data (a test can start its own script). */
export type CreateHashWorker = (data: HashThreadData) => Worker;

const createHashWorker: CreateHashWorker = (data) => new Worker(WORKER.script, { eval: WORKER.eval, workerData: data });

export interface HashThreadsOptions {
  /** Default: the hash-thread-worker script beside this module. */
  readonly createWorker?: CreateHashWorker;
}

export class HashThreads {
  private threads: HashThread[] = [];
  private nextId = 1;
  private started = false;
  private closed = false;

  private readonly createWorker: CreateHashWorker;

  /** The threads boot at start(), or at the first task. */
  constructor(
    readonly size: number,
    private readonly nice: number,
    options: HashThreadsOptions = {},
  ) {
    if (!Number.isInteger(size) || size < 1) throw new TypeError('size must be a positive integer');
    this.createWorker = options.createWorker ?? createHashWorker;
  }

  /** Boots the threads, once (ready() and run() call it). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    for (let i = 0; i < this.size; i += 1) this.threads.push(this.spawn());
  }

  /** Resolves once every thread runs; the nice value each one got (null where it could not be set). */
  async ready(): Promise<Array<number | null>> {
    this.start();
    return Promise.all(this.threads.map((thread) => thread.started));
  }

  /** Runs a task on the thread holding the fewest. The caller bounds how many are in flight. */
  run(job: HashJob): Promise<string | boolean> {
    if (this.closed) return Promise.reject(new Error('hashing threads are closed'));
    this.start();
    let target = this.threads[0];
    if (!target) return Promise.reject(new Error('no hashing thread could start'));
    for (const thread of this.threads) if (thread.pending.size < target.pending.size) target = thread;
    const task = { ...job, id: this.nextId++ } as HashTask;
    return new Promise((resolve, reject) => target.post(task, { resolve, reject }));
  }

  /** Stops every thread; tasks still held fail. */
  async close(): Promise<void> {
    this.closed = true;
    const threads = this.threads;
    this.threads = [];
    await Promise.all(threads.map((thread) => thread.stop()));
  }

  private spawn(): HashThread {
    return new HashThread(this.nice, this.createWorker, (gone, hadStarted) => {
      if (this.closed) return;
      const index = this.threads.indexOf(gone);
      if (index === -1) return;
      // A thread that died while working is replaced; one that never started (its script or the
      // native module would not load) would only fail again: it leaves the pool.
      if (hadStarted) this.threads[index] = this.spawn();
      else this.threads.splice(index, 1);
    });
  }
}
