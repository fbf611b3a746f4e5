/**
 * The primary's care of its workers: fork N, announce the server once all N
 * listen, replace a worker that dies (with a back-off, so a crash loop does
 * not spin), and on SIGTERM or SIGINT stop them all gracefully. A worker that
 * cannot start (port taken, database unreadable) ends the whole server with
 * that error: the same cause would only make every replacement fail too.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { PortcullisConfig } from '../config.js';
import { EXIT_FAILURE, EXIT_OK } from '../exit-codes.js';
import { isLifecycleMessage } from './cluster-messages.js';
import { RestartBackoff, type RestartBackoffOptions } from './restart-backoff.js';
import { workerExecArgv } from './worker-node-flags.js';

/** Past SHUTDOWN_TIMEOUT the workers exit by themselves; this much later the primary kills what is left. */
const KILL_GRACE_MS = 2_000;

interface Slot {
  readonly worker: Worker;
  readonly startedAt: number;
  ready: boolean;
}

export interface SupervisorOptions {
  readonly backoff?: RestartBackoffOptions;
}

export class WorkerSupervisor {
  private readonly slots = new Map<number, Slot>();
  private readonly restarts = new Set<NodeJS.Timeout>();
  private readonly backoff: RestartBackoff;
  private phase: 'starting' | 'running' | 'stopping' = 'starting';
  /** Why the server could not start; set once, by the first worker to fail. */
  private startupError: string | undefined;
  private allStoppedCleanly = true;
  private killTimer: NodeJS.Timeout | undefined;
  private finish: (code: number) => void = () => undefined;

  constructor(
    private readonly config: PortcullisConfig,
    private readonly log: Logger,
    options: SupervisorOptions = {},
  ) {
    this.backoff = new RestartBackoff(options.backoff);
  }

  /** Resolves with the exit code once every worker has exited. */
  run(): Promise<number> {
    return new Promise<number>((resolve) => {
      const onMessage = (worker: Worker, message: unknown) => this.onMessage(worker, message);
      const onExit = (worker: Worker, code: number | null, signal: string | null) => this.onExit(worker, code, signal);
      const onSignal = (signal: NodeJS.Signals) => this.onSignal(signal);
      cluster.on('message', onMessage);
      cluster.on('exit', onExit);
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      this.finish = (code) => {
        cluster.off('message', onMessage);
        cluster.off('exit', onExit);
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        resolve(code);
      };
      // Before the first fork: the workers start with a smaller young generation (worker-node-flags.ts).
      cluster.setupPrimary({ execArgv: workerExecArgv(process.execArgv, process.env.NODE_OPTIONS) });
      for (let i = 0; i < this.config.workers; i += 1) this.fork();
    });
  }

  private fork(): Worker {
    const worker = cluster.fork();
    // An 'error' (a signal or message that could not be delivered) must not become an uncaught exception here.
    worker.on('error', (error) => this.log.warn({ err: error, workerPid: worker.process.pid }, 'worker process error'));
    this.slots.set(worker.id, { worker, startedAt: Date.now(), ready: false });
    return worker;
  }

  private onMessage(worker: Worker, message: unknown): void {
    const slot = this.slots.get(worker.id);
    if (slot === undefined || !isLifecycleMessage(message)) return;
    const pid = worker.process.pid;
    if (message.event === 'failed') {
      if (this.phase === 'starting') {
        this.startupError ??= message.error;
        this.stop();
      } else if (this.phase === 'running') {
        // A replacement that cannot start: stop it; its exit schedules the next try, later each time.
        this.log.error({ workerPid: pid, error: message.error }, 'a replacement worker could not start');
        worker.process.kill('SIGTERM');
      }
      return;
    }
    slot.ready = true;
    if (this.phase === 'running') {
      this.log.info({ workerPid: pid }, 'replacement worker ready');
    } else if (this.phase === 'starting' && this.slots.size === this.config.workers && [...this.slots.values()].every((s) => s.ready)) {
      this.phase = 'running';
      const pids = [...this.slots.values()].map((s) => s.worker.process.pid);
      this.log.info(
        {
          url: message.url,
          workers: this.config.workers,
          workerPids: pids,
          database: this.config.database.kind,
          algorithm: this.config.algorithm,
          registration: this.config.registration,
        },
        `Portcullis listening on ${message.url} (${this.config.workers} workers)`,
      );
    }
  }

  private onExit(worker: Worker, code: number | null, signal: string | null): void {
    const slot = this.slots.get(worker.id);
    if (slot === undefined) return;
    this.slots.delete(worker.id);
    const pid = worker.process.pid;
    if (this.phase === 'stopping') {
      // A worker stopped before it served anything may die of the signal itself (it had no handler yet): no harm done.
      const unstarted = !slot.ready && signal === 'SIGTERM';
      if (code !== 0 && !unstarted) this.allStoppedCleanly = false;
      this.log.info({ workerPid: pid, code, signal }, 'worker stopped');
      if (this.slots.size === 0) this.done();
      return;
    }
    if (this.phase === 'starting') {
      this.startupError ??= `could not start: a worker exited (${signal ?? `code ${code}`}) before it was ready`;
      this.stop();
      return;
    }
    const delayMs = this.backoff.delayAfterDeath(Date.now() - slot.startedAt);
    this.log.warn(
      { workerPid: pid, code, signal, restartInMs: delayMs, crashStreak: this.backoff.crashStreak },
      'worker died unexpectedly; replacing it',
    );
    const timer = setTimeout(() => {
      this.restarts.delete(timer);
      const fresh = this.fork();
      this.log.info({ workerPid: fresh.process.pid, replaces: pid }, 'replacement worker started');
    }, delayMs);
    this.restarts.add(timer);
  }

  private onSignal(signal: NodeJS.Signals): void {
    if (this.phase === 'stopping') {
      this.log.info({ signal }, 'already shutting down');
      return;
    }
    this.log.info({ signal, workers: this.slots.size }, 'shutting down: stopping the workers (they finish requests in flight)');
    this.stop();
  }

  private stop(): void {
    if (this.phase === 'stopping') return;
    this.phase = 'stopping';
    for (const timer of this.restarts) clearTimeout(timer);
    this.restarts.clear();
    if (this.slots.size === 0) {
      this.done();
      return;
    }
    for (const { worker } of this.slots.values()) worker.process.kill('SIGTERM');
    this.killTimer = setTimeout(() => {
      this.log.error(
        { workerPids: [...this.slots.values()].map((s) => s.worker.process.pid) },
        'workers did not stop in time; killing them',
      );
      this.allStoppedCleanly = false;
      for (const { worker } of this.slots.values()) worker.process.kill('SIGKILL');
    }, this.config.shutdownTimeoutMs + KILL_GRACE_MS);
  }

  private done(): void {
    clearTimeout(this.killTimer);
    if (this.startupError !== undefined) {
      // Once, for all the workers (each logged its stack at debug level); also when LOG_LEVEL=silent.
      console.error(`portcullis: ${this.startupError}`);
      this.finish(EXIT_FAILURE);
      return;
    }
    this.log.info('stopped');
    this.finish(this.allStoppedCleanly ? EXIT_OK : EXIT_FAILURE);
  }
}
