import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fixedClock } from '../clock.js';
import type { AuditStore } from '../ports.js';
import type { AuditEvent } from './audit-event.js';
import { AuditLog } from './audit-log.js';

function memoryStore(): AuditStore & { readonly events: AuditEvent[] } {
  const events: AuditEvent[] = [];
  return {
    events,
    record: async (event) => {
      events.push(event);
    },
    list: async () => ({ events, next: undefined }),
  };
}

describe('AuditLog observers', () => {
  it('tells every observer of each recorded event, with its id and time', async () => {
    const store = memoryStore();
    const log = new AuditLog(store, fixedClock(1_700_000_000_000));
    const seen: AuditEvent[] = [];
    const other: string[] = [];
    log.observe((event) => seen.push(event));
    log.observe((event) => other.push(event.type));
    await log.record({ type: 'login.failure', outcome: 'failure', details: { reason: 'unknown_user' } });
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0], store.events[0]);
    assert.equal(seen[0]?.at, 1_700_000_000_000);
    assert.match(seen[0]?.id ?? '', /^001700000000000-[0-9a-f]{10}$/);
    assert.deepEqual(other, ['login.failure']);
  });

  it('stops telling an observer once it is removed', async () => {
    const log = new AuditLog(memoryStore(), fixedClock(0));
    const seen: string[] = [];
    const stop = log.observe((event) => seen.push(event.type));
    await log.record({ type: 'login.success', outcome: 'success' });
    stop();
    await log.record({ type: 'login.success', outcome: 'success' });
    assert.deepEqual(seen, ['login.success']);
  });

  it('records the event even when an observer throws', async () => {
    const store = memoryStore();
    const log = new AuditLog(store, fixedClock(0));
    const seen: string[] = [];
    log.observe(() => {
      throw new Error('observer bug');
    });
    log.observe((event) => seen.push(event.type));
    await log.record({ type: 'refresh.reuse_detected', outcome: 'failure' });
    assert.equal(store.events.length, 1);
    assert.deepEqual(seen, ['refresh.reuse_detected']);
  });

  it('tells observers of an event whose storing fails', async () => {
    const log = new AuditLog(
      { record: () => Promise.reject(new Error('database down')), list: async () => ({ events: [], next: undefined }) },
      fixedClock(0),
    );
    const seen: string[] = [];
    log.observe((event) => seen.push(event.type));
    await assert.rejects(log.record({ type: 'login.failure', outcome: 'failure' }), /database down/);
    assert.deepEqual(seen, ['login.failure']);
  });
});
