/**
 * The behaviour every OutboxStore must have, as a node:test suite (ADR 0022). Exported so a custom
 * store can be checked too:
 *
 *   outboxStoreContract('MyStore', async () => ({ store: new MyOutboxStore() }));
 *
 * The tests share the store: each ends by sending whatever it left queued, so the next one's
 * claims see only its own messages.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import type { OutboxMessage } from '../../core/outbox/outbox-message.js';
import type { OutboxStore } from '../../core/ports.js';
import { CONTRACT_T0 as T0, type StoreContractOptions, type StoreHarness } from './store-harness.js';

const LEASE_MS = 60_000;
/** Later than any time a test uses: a claim then sees every message left queued. */
const FAR = T0 + 1e12;

function message(createdAt: number, more: Partial<OutboxMessage> = {}): OutboxMessage {
  return {
    id: randomUUID(),
    kind: 'test',
    to: 'alice@example.test',
    subject: 'Hello',
    text: 'a token: abc',
    html: '<p>a token: abc</p>',
    createdAt,
    ...more,
  };
}

export function outboxStoreContract(
  name: string,
  open: () => Promise<StoreHarness<OutboxStore>>,
  options: StoreContractOptions = {},
): void {
  describe(`OutboxStore contract: ${name}`, { skip: options.skip ?? false }, () => {
    let harness: StoreHarness<OutboxStore>;
    let store: OutboxStore;
    before(async () => {
      harness = await open();
      store = harness.store;
    });
    after(async () => {
      await harness?.close?.();
    });
    afterEach(async () => {
      for (const claimed of await store.claim({ owner: 'cleanup', nowMs: FAR, leaseMs: LEASE_MS, limit: 1000 })) {
        await store.markSent(claimed.id, 'cleanup', FAR);
      }
    });

    it('leases a claimed message: no other claim gets it until the lease ends, then another owner may', async () => {
      const queued = message(T0);
      await store.enqueue(queued);
      const [first, ...more] = await store.claim({ owner: 'a', nowMs: T0 + 1, leaseMs: LEASE_MS, limit: 10 });
      assert.deepEqual(more, []);
      assert.deepEqual(first, { ...queued, attempts: 1, leaseUntil: T0 + 1 + LEASE_MS });
      assert.deepEqual(await store.claim({ owner: 'b', nowMs: T0 + LEASE_MS, leaseMs: LEASE_MS, limit: 10 }), [], 'within the lease');
      const entry = await store.find(queued.id);
      assert.equal(entry?.status, 'queued');
      assert.equal(entry?.leaseOwner, 'a');
      assert.equal(entry?.leaseUntil, T0 + 1 + LEASE_MS);

      const again = await store.claim({ owner: 'b', nowMs: T0 + 1 + LEASE_MS, leaseMs: LEASE_MS, limit: 10 });
      assert.deepEqual(
        again.map((claimed) => [claimed.id, claimed.attempts]),
        [[queued.id, 2]],
        'the lease ended: claimed again, a second attempt',
      );
      assert.equal(await store.markSent(queued.id, 'a', T0 + 2 * LEASE_MS), false, 'the first owner lost it');
      assert.equal(await store.markSent(queued.id, 'b', T0 + 2 * LEASE_MS), true);
      assert.equal(await store.markSent(queued.id, 'b', T0 + 2 * LEASE_MS), false, 'sent once');
    });

    it('marks a message sent: no longer claimed, its body erased, the time kept', async () => {
      const queued = message(T0);
      await store.enqueue(queued);
      await store.claim({ owner: 'a', nowMs: T0, leaseMs: LEASE_MS, limit: 10 });
      assert.equal(await store.markSent(queued.id, 'a', T0 + 5), true);
      assert.deepEqual(await store.find(queued.id), {
        ...queued,
        subject: '',
        text: '',
        html: '',
        status: 'sent',
        attempts: 1,
        nextAttemptAt: T0,
        leaseOwner: null,
        leaseUntil: null,
        finishedAt: T0 + 5,
        lastError: null,
      });
      assert.deepEqual(await store.claim({ owner: 'a', nowMs: FAR, leaseMs: LEASE_MS, limit: 10 }), []);
    });

    it('claims due messages only, oldest due first, at most `limit`', async () => {
      const messages = [message(T0 + 30), message(T0 + 10), message(T0 + 20), message(T0 + 1000)];
      for (const queued of messages) await store.enqueue(queued);
      const first = await store.claim({ owner: 'a', nowMs: T0 + 100, leaseMs: LEASE_MS, limit: 2 });
      assert.deepEqual(
        first.map((claimed) => claimed.createdAt),
        [T0 + 10, T0 + 20],
      );
      const second = await store.claim({ owner: 'a', nowMs: T0 + 100, leaseMs: LEASE_MS, limit: 10 });
      assert.deepEqual(
        second.map((claimed) => claimed.createdAt),
        [T0 + 30],
        'the one created later is not due yet',
      );
      assert.equal(await store.markSent(messages[1]!.id, 'someone-else', T0 + 101), false, 'only the owner marks it');
    });

    it('a failed attempt with a retry time: queued again, due at that time, the error kept', async () => {
      const queued = message(T0);
      await store.enqueue(queued);
      await store.claim({ owner: 'a', nowMs: T0, leaseMs: LEASE_MS, limit: 10 });
      assert.equal(await store.markFailed(queued.id, { owner: 'a', nowMs: T0 + 1, retryAt: T0 + 5000, error: 'connection refused' }), true);
      const entry = await store.find(queued.id);
      assert.equal(entry?.status, 'queued');
      assert.equal(entry?.nextAttemptAt, T0 + 5000);
      assert.equal(entry?.leaseOwner, null);
      assert.equal(entry?.lastError, 'connection refused');
      assert.equal(entry?.text, queued.text, 'the body is kept for the next attempt');
      assert.deepEqual(await store.claim({ owner: 'a', nowMs: T0 + 4999, leaseMs: LEASE_MS, limit: 10 }), [], 'not before');
      const [retried] = await store.claim({ owner: 'b', nowMs: T0 + 5000, leaseMs: LEASE_MS, limit: 10 });
      assert.equal(retried?.id, queued.id);
      assert.equal(retried?.attempts, 2);
      assert.equal(await store.markFailed(queued.id, { owner: 'a', nowMs: T0 + 5001, retryAt: T0 + 9000, error: 'x' }), false, 'not yours');
    });

    it('gives up on a message: failed, its body erased, never claimed again', async () => {
      const queued = message(T0);
      await store.enqueue(queued);
      await store.claim({ owner: 'a', nowMs: T0, leaseMs: LEASE_MS, limit: 10 });
      assert.equal(await store.markFailed(queued.id, { owner: 'a', nowMs: T0 + 1, retryAt: undefined, error: '550 no such user' }), true);
      const entry = await store.find(queued.id);
      assert.equal(entry?.status, 'failed');
      assert.equal(entry?.finishedAt, T0 + 1);
      assert.equal(entry?.lastError, '550 no such user');
      assert.deepEqual([entry?.subject, entry?.text, entry?.html], ['', '', '']);
      assert.deepEqual(await store.claim({ owner: 'a', nowMs: FAR, leaseMs: LEASE_MS, limit: 10 }), []);
    });

    it('counts queued (and, of them, leased), sent and failed messages, and the age of the oldest queued one', async () => {
      const before = await store.stats(T0);
      assert.equal(before.queued, 0);
      const [a, b, c, d] = [message(T0), message(T0 + 100), message(T0 + 200), message(T0 + 250)];
      for (const queued of [a, b, c, d]) await store.enqueue(queued);
      await store.claim({ owner: 'o', nowMs: T0 + 300, leaseMs: LEASE_MS, limit: 1 });
      await store.markSent(a!.id, 'o', T0 + 300);
      await store.claim({ owner: 'o', nowMs: T0 + 300, leaseMs: LEASE_MS, limit: 1 });
      await store.markFailed(b!.id, { owner: 'o', nowMs: T0 + 300, retryAt: undefined, error: 'refused' });
      await store.claim({ owner: 'o', nowMs: T0 + 300, leaseMs: LEASE_MS, limit: 1 }); // c: being sent
      const after = await store.stats(T0 + 1000);
      assert.deepEqual(after, {
        queued: 2,
        sending: 1,
        sent: before.sent + 1,
        failed: before.failed + 1,
        oldestQueuedAgeMs: 800,
      });
      assert.equal((await store.stats(T0 + 300 + LEASE_MS)).sending, 0, 'the lease ended: queued, no longer being sent');
    });

    it('prunes sent and failed messages finished before a time, at most `limit`, never a queued one', async () => {
      // The earlier tests' messages all finished by FAR: gone first, so that the counts below are this test's.
      while ((await store.prune(FAR + 1, 1000)) > 0);
      const sent = [message(T0), message(T0 + 1), message(T0 + 2)];
      const failed = message(T0 + 3);
      const waiting = message(T0); // queued (and retried) since before the others finished
      const leased = message(T0 + 4);
      for (const queued of [...sent, failed, waiting, leased]) await store.enqueue(queued);
      await store.claim({ owner: 'p', nowMs: T0 + 10, leaseMs: LEASE_MS, limit: 10 });
      for (const [i, queued] of sent.entries()) assert.equal(await store.markSent(queued.id, 'p', T0 + 100 + i), true);
      await store.markFailed(failed.id, { owner: 'p', nowMs: T0 + 100, retryAt: undefined, error: '550 refused' });
      await store.markFailed(waiting.id, { owner: 'p', nowMs: T0 + 100, retryAt: T0 + 1e9, error: 'timeout' });

      assert.equal(await store.prune(T0 + 100, 10), 0, 'none finished before T0 + 100');
      assert.equal(await store.prune(T0 + 102, 2), 2, 'three finished before T0 + 102, two at most');
      assert.equal(await store.prune(T0 + 102, 10), 1, 'the third');
      const kept = await Promise.all([...sent, failed].map((queued) => store.find(queued.id)));
      assert.deepEqual(
        kept.map((entry) => entry?.status),
        [undefined, undefined, 'sent', undefined],
        'sent at T0 + 100 and T0 + 101, and failed at T0 + 100: deleted; sent at T0 + 102: kept',
      );
      assert.equal(await store.prune(FAR, 10), 1, 'the last sent one');
      assert.equal(await store.prune(FAR, 10), 0);
      assert.equal((await store.find(waiting.id))?.status, 'queued', 'a queued message is never pruned, however old');
      assert.equal((await store.find(leased.id))?.status, 'queued', 'nor one being sent');
      const after = await store.stats(T0 + 200);
      assert.deepEqual([after.queued, after.sent, after.failed], [2, 0, 0]);
      assert.equal(await store.markSent(leased.id, 'p', T0 + 200), true);
      await store.claim({ owner: 'p', nowMs: T0 + 1e9, leaseMs: LEASE_MS, limit: 10 });
      assert.equal(await store.markSent(waiting.id, 'p', T0 + 1e9), true);
    });

    it('hands each message to one of many concurrent claims', async () => {
      const messages = Array.from({ length: 30 }, (_, i) => message(T0 + i));
      for (const queued of messages) await store.enqueue(queued);
      const claims = await Promise.all(
        Array.from({ length: 6 }, (_, i) => store.claim({ owner: `o${i}`, nowMs: T0 + 100, leaseMs: LEASE_MS, limit: 10 })),
      );
      const ids = claims.flat().map((claimed) => claimed.id);
      assert.equal(new Set(ids).size, ids.length, 'no message in two claims');
      // Claims that waited on a row another took may come back short; what is left is claimed next.
      const rest = await store.claim({ owner: 'last', nowMs: T0 + 100, leaseMs: LEASE_MS, limit: 100 });
      assert.deepEqual([...ids, ...rest.map((claimed) => claimed.id)].sort(), messages.map((queued) => queued.id).sort());
    });

    it('deletes each old message once among concurrent prunes', async () => {
      while ((await store.prune(FAR + 1, 1000)) > 0);
      const messages = Array.from({ length: 24 }, (_, i) => message(T0 + i));
      for (const queued of messages) await store.enqueue(queued);
      await store.claim({ owner: 'p', nowMs: T0 + 100, leaseMs: LEASE_MS, limit: 100 });
      for (const queued of messages) await store.markSent(queued.id, 'p', T0 + 100);
      const counts = await Promise.all(Array.from({ length: 4 }, () => store.prune(T0 + 101, 10)));
      const rest = await store.prune(T0 + 101, 100);
      assert.equal(
        counts.reduce((sum, count) => sum + count, rest),
        24,
      );
      assert.equal((await store.stats(T0 + 101)).sent, 0);
    });

    it('answers undefined for an unknown id, and refuses an id taken', async () => {
      assert.equal(await store.find(randomUUID()), undefined);
      const queued = message(T0);
      await store.enqueue(queued);
      await assert.rejects(store.enqueue(queued));
    });
  });
}
