/**
 * The worker's side of the shared abuse state: the RateLimiter and
 * LoginAttemptStore ports, answered by the primary over cluster IPC so that
 * every worker counts against the same buckets. Each call has an id and a
 * timeout; a call that times out, or finds the pipe gone, rejects, and the
 * fallback wrappers (see ipc-shared-state.ts) then count in the worker.
 */
import type { TokenBucketSettings } from '../../core/config.js';
import type {
  LoginAttemptStore,
  LoginAttemptView,
  LoginFailureRecord,
  LoginFailures,
  RateDecision,
  RateLimiter,
} from '../../core/ports.js';
import { isStoreReply, STORE_CHANNEL, type IpcTransport, type StoreOperation, type StoreRequest } from './cluster-messages.js';

export interface IpcStoreClientOptions {
  /** How long a call may wait for the primary; default 500 ms (a busy primary answers in well under 1 ms). */
  readonly timeoutMs?: number;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  readonly timer: NodeJS.Timeout;
}

export class IpcStoreClient {
  private readonly pending = new Map<number, Pending>();
  private readonly timeoutMs: number;
  private readonly unsubscribe: () => void;
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly transport: IpcTransport,
    options: IpcStoreClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 500;
    this.unsubscribe = transport.onMessage((message) => this.settle(message));
  }

  /** Calls still waiting for their answer. */
  get inFlight(): number {
    return this.pending.size;
  }

  call<T>(op: StoreOperation, args: readonly unknown[]): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the IPC store client is closed'));
    const id = this.nextId;
    this.nextId = this.nextId >= Number.MAX_SAFE_INTEGER ? 1 : this.nextId + 1;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`the primary process did not answer ${op} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      const request: StoreRequest = { channel: STORE_CHANNEL, id, op, args };
      this.transport.send(request).catch((error: unknown) => this.fail(id, error instanceof Error ? error : new Error(String(error))));
    });
  }

  /** Rejects what is pending and stops listening. */
  close(): void {
    this.closed = true;
    this.unsubscribe();
    for (const id of [...this.pending.keys()]) this.fail(id, new Error('the IPC store client is closed'));
  }

  private settle(message: unknown): void {
    if (!isStoreReply(message)) return;
    const call = this.pending.get(message.id);
    // A reply after its timeout: the caller has moved on to the fallback already.
    if (call === undefined) return;
    this.pending.delete(message.id);
    clearTimeout(call.timer);
    if (message.ok) call.resolve(message.value);
    else call.reject(new Error(`the primary process failed: ${message.error}`));
  }

  private fail(id: number, error: Error): void {
    const call = this.pending.get(id);
    if (call === undefined) return;
    this.pending.delete(id);
    clearTimeout(call.timer);
    call.reject(error);
  }
}

export class IpcRateLimiter implements RateLimiter {
  constructor(private readonly client: IpcStoreClient) {}

  consume(key: string, bucket: TokenBucketSettings, cost = 1): Promise<RateDecision> {
    return this.client.call('consume', [key, { perMinute: bucket.perMinute, burst: bucket.burst }, cost]);
  }
}

export class IpcLoginAttemptStore implements LoginAttemptStore {
  constructor(private readonly client: IpcStoreClient) {}

  inspect(pairKey: string, sourceKey: string, nowMs: number, sprayWindowMs: number): Promise<LoginAttemptView> {
    return this.client.call('inspect', [pairKey, sourceKey, nowMs, sprayWindowMs]);
  }

  recordFailure(failure: LoginFailureRecord): Promise<LoginFailures> {
    return this.client.call('recordFailure', [failure]);
  }

  async clearFailures(pairKey: string): Promise<void> {
    await this.client.call('clearFailures', [pairKey]);
  }

  claimOnce(key: string, nowMs: number, ttlMs: number): Promise<boolean> {
    return this.client.call('claimOnce', [key, nowMs, ttlMs]);
  }
}
