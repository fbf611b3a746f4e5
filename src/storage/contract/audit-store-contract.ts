/**
 * The behaviour every AuditStore must have, as a node:test suite. Exported
 * so a custom store can be checked too:
 *
 *   auditStoreContract('MyStore', async () => ({ store: new MyStore() }));
 *
 * Events are made as AuditLog makes them (ids that sort by time). Each test
 * records events of a subject of its own and lists by it, so they share the store.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent } from '../../core/audit/audit-event.js';
import type { AuditStore } from '../../core/ports.js';
import { CONTRACT_T0 as T0, type StoreContractOptions, type StoreHarness } from './store-harness.js';

/** An event at `at`, with an id as AuditLog makes it: zero-padded milliseconds, then randomness. */
function eventAt(at: number, more: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: `${String(at).padStart(15, '0')}-${randomBytes(5).toString('hex')}`,
    at,
    type: 'login.success',
    outcome: 'success',
    ...more,
  };
}

export function auditStoreContract(name: string, open: () => Promise<StoreHarness<AuditStore>>, options: StoreContractOptions = {}): void {
  describe(`AuditStore contract: ${name}`, { skip: options.skip ?? false }, () => {
    let harness: StoreHarness<AuditStore>;
    let store: AuditStore;
    before(async () => {
      harness = await open();
      store = harness.store;
    });
    after(async () => {
      await harness?.close?.();
    });

    it('gives back what was recorded; missing actor, subject and ip as null, empty details as none', async () => {
      const subject = `s-${randomUUID()}`;
      const full = eventAt(T0 + 1, {
        type: 'login.failure',
        outcome: 'failure',
        actor: 'alice',
        subject,
        ip: '192.0.2.7',
        details: { reason: 'wrong_password', attempts: 3, fresh: false, none: null },
      });
      const bare = eventAt(T0, { subject, details: {} });
      await store.record(full);
      await store.record(bare);
      const page = await store.list({ subject, limit: 10 });
      assert.deepEqual(page, {
        events: [full, { id: bare.id, at: T0, type: 'login.success', outcome: 'success', actor: null, subject, ip: null }],
        next: undefined,
      });
    });

    it('lists newest first, in pages continued with `before`', async () => {
      const subject = `s-${randomUUID()}`;
      const events = Array.from({ length: 5 }, (_, i) => eventAt(T0 + i * 1000, { subject }));
      for (const event of [...events].reverse()) await store.record(event);
      const newestFirst = events.map((event) => event.id).reverse();
      const first = await store.list({ subject, limit: 2 });
      assert.deepEqual(
        first.events.map((event) => event.id),
        newestFirst.slice(0, 2),
      );
      assert.equal(first.next, newestFirst[1]);
      const second = await store.list({ subject, limit: 2, before: first.next });
      assert.deepEqual(
        second.events.map((event) => event.id),
        newestFirst.slice(2, 4),
      );
      const third = await store.list({ subject, limit: 2, before: second.next });
      assert.deepEqual(
        third.events.map((event) => event.id),
        newestFirst.slice(4),
      );
      assert.equal(third.next, undefined);
      assert.equal((await store.list({ subject, limit: 5 })).next, undefined, 'a page that ends at the last event says there is no next');
    });

    it('filters by type, actor, outcome and time (since inclusive, until exclusive)', async () => {
      const subject = `s-${randomUUID()}`;
      const a = eventAt(T0, { subject, type: 'login.failure', outcome: 'failure', actor: 'mallory' });
      const b = eventAt(T0 + 10, { subject, type: 'login.success', actor: 'alice' });
      const c = eventAt(T0 + 20, { subject, type: 'password.changed', actor: 'alice' });
      for (const event of [a, b, c]) await store.record(event);
      const ids = async (filter: Parameters<AuditStore['list']>[0]) => (await store.list(filter)).events.map((event) => event.id);
      assert.deepEqual(await ids({ subject, type: 'login.success', limit: 10 }), [b.id]);
      assert.deepEqual(await ids({ subject, actor: 'alice', limit: 10 }), [c.id, b.id]);
      assert.deepEqual(await ids({ subject, outcome: 'failure', limit: 10 }), [a.id]);
      assert.deepEqual(await ids({ subject, since: T0 + 10, limit: 10 }), [c.id, b.id]);
      assert.deepEqual(await ids({ subject, until: T0 + 20, limit: 10 }), [b.id, a.id]);
      assert.deepEqual(await ids({ subject, since: T0 + 10, until: T0 + 20, actor: 'alice', limit: 10 }), [b.id]);
      assert.deepEqual(await ids({ subject, type: 'user.removed', limit: 10 }), []);
      assert.deepEqual(await ids({ subject: `s-${randomUUID()}`, limit: 10 }), []);
    });
  });
}
