import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { fixedClock } from '../../core/clock.js';
import { MemoryLoginAttemptStore } from '../../storage/memory/memory-login-attempt-store.js';
import { MemoryRateLimiter } from '../../storage/memory/memory-rate-limiter.js';
import { isStoreRequest, STORE_CHANNEL, type IpcTransport, type StoreReply } from './cluster-messages.js';
import { connectWorkerStores } from './ipc-shared-state.js';
import { IpcLoginAttemptStore, IpcRateLimiter, IpcStoreClient } from './ipc-store-client.js';
import { answerStoreRequest, type SharedStores } from './ipc-store-server.js';

const BUCKET = { perMinute: 1, burst: 3 };

/**
 * A primary in memory, reached the way cluster IPC reaches it: asynchronously,
 * and through JSON (cluster's default serialization). `answering = false`
 * swallows requests (a hung primary); `connected = false` is a closed pipe.
 */
class FakePrimary {
  readonly stores: SharedStores = { rateLimiter: new MemoryRateLimiter(), loginAttempts: new MemoryLoginAttemptStore() };
  answering = true;
  connected = true;
  delayMs = 0;
  requests = 0;
  /** Settles once the last request answered has been delivered (after `delayMs`). */
  delivered: Promise<void> = Promise.resolve();

  transport(): IpcTransport {
    const listeners = new Set<(message: unknown) => void>();
    return {
      send: async (message) => {
        if (!this.connected) throw new Error('channel closed');
        this.requests += 1;
        const request: unknown = JSON.parse(JSON.stringify(message));
        if (!this.answering || !isStoreRequest(request)) return;
        this.delivered = answerStoreRequest(this.stores, request).then(async (reply) => {
          if (this.delayMs > 0) await sleep(this.delayMs);
          const wire: unknown = JSON.parse(JSON.stringify(reply));
          for (const listener of listeners) listener(wire);
        });
      },
      onMessage(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
  }
}

function silentLog(lines: string[] = []) {
  return pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
}

describe('IpcStoreClient and the primary stores', () => {
  it('counts every worker against one bucket', async () => {
    const primary = new FakePrimary();
    const workers = [
      new IpcRateLimiter(new IpcStoreClient(primary.transport())),
      new IpcRateLimiter(new IpcStoreClient(primary.transport())),
    ];
    const allowed: boolean[] = [];
    for (let i = 0; i < 6; i += 1) allowed.push((await workers[i % 2]!.consume('ip:203.0.113.7', BUCKET)).allowed);
    assert.deepEqual(allowed, [true, true, true, false, false, false]);
    const refused = await workers[0]!.consume('ip:203.0.113.7', BUCKET);
    assert.equal(refused.limit, 3);
    assert.equal(refused.remaining, 0);
    assert.ok(refused.retryAfterSeconds > 0);
  });

  it('shares the login backoff and spraying counts between workers', async () => {
    const primary = new FakePrimary();
    const a = new IpcLoginAttemptStore(new IpcStoreClient(primary.transport()));
    const b = new IpcLoginAttemptStore(new IpcStoreClient(primary.transport()));
    const now = Date.now();
    const fresh = await b.inspect('pair', 'source', now, 3_600_000);
    assert.equal(fresh.failures, undefined);
    assert.equal(fresh.sprayAccounts, 0);
    const failure = { pairKey: 'pair', sourceKey: 'source', accountKey: 'acct', nowMs: now, pairTtlMs: 60_000, sprayWindowMs: 3_600_000 };
    assert.deepEqual(await a.recordFailure(failure), { count: 1, lastAt: now });
    assert.deepEqual(await b.recordFailure({ ...failure, nowMs: now + 1 }), { count: 2, lastAt: now + 1 });
    const seen = await a.inspect('pair', 'source', now + 2, 3_600_000);
    assert.deepEqual(seen.failures, { count: 2, lastAt: now + 1 });
    assert.equal(seen.sprayAccounts, 1);
    assert.equal(seen.sprayOldestAt, now + 1);
    await b.clearFailures('pair');
    assert.equal((await a.inspect('pair', 'source', now + 3, 3_600_000)).failures, undefined);
    assert.equal(await a.claimOnce('audit:x', now, 60_000), true);
    assert.equal(await b.claimOnce('audit:x', now, 60_000), false);
  });

  it('matches replies to calls by id when they come back out of order', async () => {
    const primary = new FakePrimary();
    const client = new IpcStoreClient(primary.transport());
    const limiter = new IpcRateLimiter(client);
    const store = new IpcLoginAttemptStore(client);
    const [decision, claimed, view] = await Promise.all([
      limiter.consume('k', BUCKET),
      store.claimOnce('c', Date.now(), 1000),
      store.inspect('p', 's', Date.now(), 1000),
    ]);
    assert.equal(decision.allowed, true);
    assert.equal(claimed, true);
    assert.equal(view.sprayAccounts, 0);
    assert.equal(client.inFlight, 0);
  });

  it('rejects a call the primary does not answer in time, and ignores the late reply', async () => {
    const primary = new FakePrimary();
    primary.delayMs = 80;
    const client = new IpcStoreClient(primary.transport(), { timeoutMs: 20 });
    await assert.rejects(new IpcRateLimiter(client).consume('k', BUCKET), /did not answer consume within 20 ms/);
    assert.equal(client.inFlight, 0);
    await primary.delivered; // the late reply arrives and is dropped
    assert.equal(client.inFlight, 0);
  });

  it('rejects at once when the pipe to the primary is closed', async () => {
    const primary = new FakePrimary();
    primary.connected = false;
    const client = new IpcStoreClient(primary.transport(), { timeoutMs: 10_000 });
    const started = Date.now();
    await assert.rejects(new IpcStoreClient(primary.transport()).call('clearFailures', ['p']), /channel closed/);
    await assert.rejects(client.call('clearFailures', ['p']), /channel closed/);
    // Not after the call timeout (10 s): at once, however loaded the machine.
    assert.ok(Date.now() - started < 5_000);
  });

  it('rejects pending calls on close, and every call after it', async () => {
    const primary = new FakePrimary();
    primary.answering = false;
    const client = new IpcStoreClient(primary.transport(), { timeoutMs: 10_000 });
    const pending = client.call('claimOnce', ['k', 0, 1]);
    client.close();
    await assert.rejects(pending, /closed/);
    await assert.rejects(client.call('claimOnce', ['k', 0, 1]), /closed/);
  });

  it('answers a malformed call with an error instead of throwing in the primary', async () => {
    const stores: SharedStores = { rateLimiter: new MemoryRateLimiter(), loginAttempts: new MemoryLoginAttemptStore() };
    const reply: StoreReply = await answerStoreRequest(stores, { channel: STORE_CHANNEL, id: 7, op: 'consume', args: [42, BUCKET] });
    assert.deepEqual(reply, { channel: STORE_CHANNEL, id: 7, ok: false, error: 'expected a string argument' });
    const misuse = await answerStoreRequest(stores, { channel: STORE_CHANNEL, id: 8, op: 'consume', args: ['k', BUCKET, 99] });
    assert.equal(misuse.ok, false);
    const primary = new FakePrimary();
    const client = new IpcStoreClient(primary.transport());
    await assert.rejects(client.call('recordFailure', [{ pairKey: 'p' }]), /the primary process failed: expected a string argument/);
  });
});

describe('connectWorkerStores', () => {
  it('counts in the worker while the primary does not answer, logs the outage once, and its end', async () => {
    const primary = new FakePrimary();
    primary.answering = false;
    const lines: string[] = [];
    // The worker's clock stands still unless moved: the retry interval passes when the test says so.
    const clock = fixedClock(Date.now());
    const stores = connectWorkerStores(primary.transport(), silentLog(lines), { timeoutMs: 20, retryIntervalMs: 60, clock });
    const allowed: boolean[] = [];
    for (let i = 0; i < 4; i += 1) allowed.push((await stores.rateLimiter.consume('k', BUCKET)).allowed);
    assert.deepEqual(allowed, [true, true, true, false], 'the worker still limits on its own');
    assert.equal(await stores.loginAttempts.claimOnce('c', clock.now(), 1000), true);
    const outages = () => lines.filter((line) => line.includes('primary process not answering')).length;
    assert.equal(outages(), 2, 'one line for the rate limits, one for the backoff');
    assert.equal(primary.requests, 2, 'no call to the primary until the retry interval has passed');
    primary.answering = true;
    clock.advance(60);
    assert.equal((await stores.rateLimiter.consume('k2', BUCKET)).allowed, true);
    assert.ok(lines.some((line) => line.includes('primary process answering again')));
    stores.close();
  });
});
