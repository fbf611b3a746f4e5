/**
 * Wiring of the rate limits and login backoff across cluster workers when
 * there is no Redis: the primary holds the one in-memory copy and answers
 * over IPC (servePrimaryStores); each worker asks it (connectWorkerStores),
 * with its own in-memory store behind, the way the Redis stores have one.
 * If the primary stops answering, a worker counts on its own (limits are then
 * per worker) rather than failing or hanging requests; that is logged once,
 * and its end (ADR 0013).
 */
import cluster, { type Worker } from 'node:cluster';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../core/clock.js';
import type { LoginAttemptStore, RateLimiter } from '../../core/ports.js';
import { FallbackRateLimiter } from '../../core/rate-limit/fallback-rate-limiter.js';
import { MemoryLoginAttemptStore } from '../../storage/memory/memory-login-attempt-store.js';
import { MemoryRateLimiter } from '../../storage/memory/memory-rate-limiter.js';
import { FallbackLoginAttemptStore } from '../../storage/redis/fallback-login-attempt-store.js';
import { isStoreRequest, type IpcTransport } from './cluster-messages.js';
import { IpcLoginAttemptStore, IpcRateLimiter, IpcStoreClient, type IpcStoreClientOptions } from './ipc-store-client.js';
import { answerStoreRequest, type SharedStores } from './ipc-store-server.js';

export interface WorkerStores extends SharedStores {
  /** Stops listening to the primary; pending calls go to the fallback. */
  close(): void;
}

export function connectWorkerStores(
  transport: IpcTransport,
  log: FastifyBaseLogger,
  options: IpcStoreClientOptions & { readonly retryIntervalMs?: number; readonly clock?: Clock } = {},
): WorkerStores {
  const client = new IpcStoreClient(transport, options);
  // The worker's own time (the in-process buckets, the retry interval); default the system clock.
  const clock = options.clock === undefined ? {} : { clock: options.clock };
  const retry = options.retryIntervalMs === undefined ? {} : { probeIntervalMs: options.retryIntervalMs };
  const rateLimiter: RateLimiter = new FallbackRateLimiter(
    new IpcRateLimiter(client),
    new MemoryRateLimiter(clock),
    {
      onOutage: (error) => log.warn({ err: error }, 'primary process not answering: rate limits are counted in this worker until it does'),
      onRecovery: () => log.info('primary process answering again: rate limits are shared by the workers again'),
    },
    { ...retry, ...clock },
  );
  const loginAttempts: LoginAttemptStore = new FallbackLoginAttemptStore(
    new IpcLoginAttemptStore(client),
    new MemoryLoginAttemptStore(),
    {
      onOutage: (error) => log.warn({ err: error }, 'primary process not answering: login backoff is kept in this worker until it does'),
      onRecovery: () => log.info('primary process answering again: login backoff is shared by the workers again'),
    },
    { ...(options.retryIntervalMs === undefined ? {} : { retryIntervalMs: options.retryIntervalMs }), ...clock },
  );
  return { rateLimiter, loginAttempts, close: () => client.close() };
}

/** This worker's pipe to the primary (process.send). */
export function primaryTransport(): IpcTransport {
  return {
    send: (message) =>
      new Promise<void>((resolve, reject) => {
        if (!process.connected || process.send === undefined) {
          reject(new Error('the IPC channel to the primary process is closed'));
          return;
        }
        process.send(message, undefined, {}, (error) => (error ? reject(error) : resolve()));
      }),
    onMessage(listener) {
      process.on('message', listener);
      return () => process.off('message', listener);
    },
  };
}

/** In the primary: answers every worker's store calls from one in-memory copy. Returns the stop function. */
export function servePrimaryStores(log: FastifyBaseLogger): () => void {
  const stores: SharedStores = { rateLimiter: new MemoryRateLimiter(), loginAttempts: new MemoryLoginAttemptStore() };
  const onMessage = (worker: Worker, message: unknown) => {
    if (!isStoreRequest(message)) return;
    void answerStoreRequest(stores, message).then((reply) => {
      // The worker may have died meanwhile; a send on a closed pipe must not become an 'error' event here.
      if (!worker.isConnected()) return;
      worker.send(reply, undefined, (error) => {
        if (error) log.debug({ err: error, pid: worker.process.pid }, 'could not answer a worker');
      });
    });
  };
  cluster.on('message', onMessage);
  return () => cluster.off('message', onMessage);
}
