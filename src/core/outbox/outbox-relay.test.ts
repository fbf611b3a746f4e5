import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { fixedClock } from '../clock.js';
import { MemoryOutboxStore } from '../../storage/memory/memory-outbox-store.js';
import type { OutboxMessage } from './outbox-message.js';
import { MailTransportError, type MailTransport, type OutgoingMail } from './mail-transport.js';
import { OutboxRelay, type RelayTimers } from './outbox-relay.js';
import { retryDelayMs } from './retry-schedule.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const LEASE_MS = 60_000;
const RETRY = { baseMs: 1000, maxMs: 8000, maxAttempts: 6 };

function message(createdAt = T0): OutboxMessage {
  return { id: randomUUID(), kind: 'test', to: 'a@example.test', subject: 's', text: 't', html: 'h', createdAt };
}

/** A transport whose every send waits until the test settles it. */
class HeldTransport implements MailTransport {
  readonly description = 'held';
  readonly pending: Array<{ mail: OutgoingMail; accept: () => void; refuse: (error: Error) => void }> = [];
  private waiters: Array<() => void> = [];

  send(mail: OutgoingMail): Promise<void> {
    return new Promise((accept, refuse) => {
      this.pending.push({ mail, accept, refuse });
      for (const waiter of this.waiters.splice(0)) waiter();
    });
  }

  /** Resolves once `count` sends have started. */
  async started(count: number): Promise<void> {
    while (this.pending.length < count) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  async close(): Promise<void> {}
}

/** A transport that answers every send at once, as told. */
function answering(answer: (mail: OutgoingMail) => Error | undefined): MailTransport & { sent: OutgoingMail[] } {
  const sent: OutgoingMail[] = [];
  return {
    description: 'answering',
    sent,
    async send(mail) {
      const error = answer(mail);
      if (error) throw error;
      sent.push(mail);
    },
    async close() {},
  };
}

function relayOf(
  store: MemoryOutboxStore,
  transport: MailTransport,
  clock: { now(): number },
  extra: { owner?: string; timers?: RelayTimers } = {},
) {
  return new OutboxRelay({
    store,
    transport,
    clock,
    leaseMs: LEASE_MS,
    batchSize: 10,
    pollMs: 5000,
    retry: RETRY,
    random: () => 0.5,
    ...extra,
  });
}

describe('OutboxRelay', () => {
  it('marks a message sent only after the transport accepted it', async () => {
    const store = new MemoryOutboxStore();
    const clock = fixedClock(T0);
    const transport = new HeldTransport();
    const queued = message();
    await store.enqueue(queued);
    const run = relayOf(store, transport, clock).runOnce();
    await transport.started(1);
    assert.equal((await store.find(queued.id))?.status, 'queued', 'not sent while the server has not answered');
    assert.equal(transport.pending[0]?.mail.text, 't');
    transport.pending[0]!.accept();
    assert.deepEqual(await run, ['sent']);
    assert.equal((await store.find(queued.id))?.status, 'sent');
  });

  it('retries with exponential backoff, capped, jittered by the random source, then gives up', async () => {
    const store = new MemoryOutboxStore();
    const clock = fixedClock(T0);
    const transport = answering(() => new Error('connection refused'));
    const queued = message();
    await store.enqueue(queued);
    const relay = relayOf(store, transport, clock);
    const delays: number[] = [];
    for (let attempt = 1; attempt <= RETRY.maxAttempts; attempt += 1) {
      assert.deepEqual(await relay.runOnce(), [attempt < RETRY.maxAttempts ? 'retry' : 'failed'], `attempt ${attempt}`);
      const entry = await store.find(queued.id);
      if (attempt === RETRY.maxAttempts) {
        assert.equal(entry?.status, 'failed');
        assert.equal(entry?.lastError, 'connection refused');
        break;
      }
      delays.push(entry!.nextAttemptAt - clock.now());
      clock.advance(entry!.nextAttemptAt - clock.now() - 1);
      assert.deepEqual(await relay.runOnce(), [], 'not due a millisecond early');
      clock.advance(1);
    }
    // Half of each delay fixed, half random (0.5 here): 1, 2, 4, 8, 8 s (capped) → 0.75 of each.
    assert.deepEqual(delays, [750, 1500, 3000, 6000, 6000]);
    assert.equal(
      retryDelayMs(RETRY, 3, () => 0),
      2000,
      'random 0: half the delay',
    );
    assert.equal(
      retryDelayMs(RETRY, 3, () => 0.999999),
      4000,
      'random near 1: the whole delay',
    );
  });

  it('gives up at once on a permanent refusal', async () => {
    const store = new MemoryOutboxStore();
    const queued = message();
    await store.enqueue(queued);
    const relay = relayOf(
      store,
      answering(() => new MailTransportError('550 no such mailbox', true)),
      fixedClock(T0),
    );
    assert.deepEqual(await relay.runOnce(), ['failed']);
    assert.equal((await store.find(queued.id))?.status, 'failed');
  });

  it('never sends a message twice within its lease; a dead sender’s message is sent once the lease ends', async () => {
    const store = new MemoryOutboxStore();
    const clock = fixedClock(T0);
    const dead = new HeldTransport(); // a sender that never answers: SIGKILLed mid-send
    const queued = message();
    await store.enqueue(queued);
    const deadRun = relayOf(store, dead, clock, { owner: 'dead' }).runOnce();
    await dead.started(1);
    const live = answering(() => undefined);
    const other = relayOf(store, live, clock, { owner: 'live' });
    clock.advance(LEASE_MS - 1);
    assert.deepEqual(await other.runOnce(), [], 'within the lease, no one else takes it');
    assert.equal(live.sent.length, 0);
    clock.advance(1);
    assert.deepEqual(await other.runOnce(), ['sent'], 'the lease ended');
    assert.deepEqual(
      live.sent.map((mail) => mail.id),
      [queued.id],
    );
    // The first sender comes back after all (it was only stalled): it cannot mark what is no longer its own.
    dead.pending[0]!.accept();
    assert.deepEqual(await deadRun, ['lease_lost']);
    assert.equal((await store.find(queued.id))?.status, 'sent');
  });

  it('runs on its timers: at start, when woken, at each poll; close waits for the messages in hand', async () => {
    const store = new MemoryOutboxStore();
    const clock = fixedClock(T0);
    const scheduled: Array<{ callback: () => void; ms: number }> = [];
    const timers: RelayTimers = {
      setTimeout: (callback, ms) => {
        const entry = { callback, ms };
        scheduled.push(entry);
        return entry;
      },
      clearTimeout: (handle) => {
        const index = scheduled.indexOf(handle as (typeof scheduled)[number]);
        if (index >= 0) scheduled.splice(index, 1);
      },
    };
    const transport = new HeldTransport();
    const relay = relayOf(store, transport, clock, { timers });
    relay.start();
    assert.deepEqual(
      scheduled.map((entry) => entry.ms),
      [0],
    );
    await store.enqueue(message());
    scheduled.shift()!.callback();
    await transport.started(1);
    relay.wake(); // while it runs: once more when it is done
    transport.pending[0]!.accept();
    await waitUntil(() => scheduled.length === 1);
    assert.equal(scheduled[0]?.ms, 0, 'woken while running: again at once');
    scheduled.shift()!.callback();
    await waitUntil(() => scheduled.length === 1);
    assert.equal(scheduled[0]?.ms, 5000, 'nothing to send: the next poll');
    await store.enqueue(message());
    relay.wake();
    assert.deepEqual(
      scheduled.map((entry) => entry.ms),
      [0],
      'woken: at once instead of the poll',
    );
    scheduled.shift()!.callback();
    await transport.started(2);
    let closed = false;
    const closing = relay.close().then(() => (closed = true));
    await Promise.resolve();
    assert.equal(closed, false, 'close waits for the send in hand');
    transport.pending[1]!.accept();
    await closing;
    assert.deepEqual(scheduled, [], 'nothing scheduled after close');
    assert.deepEqual((await store.stats(clock.now())).sent, 2);
  });
});

/** Timers the test fires by hand: `scheduled` holds what the relay asked for, in order. */
function manualTimers() {
  const scheduled: Array<{ callback: () => void; ms: number }> = [];
  const timers: RelayTimers = {
    setTimeout: (callback, ms) => {
      const entry = { callback, ms };
      scheduled.push(entry);
      return entry;
    },
    clearTimeout: (handle) => {
      const index = scheduled.indexOf(handle as (typeof scheduled)[number]);
      if (index >= 0) scheduled.splice(index, 1);
    },
  };
  return { scheduled, timers };
}

describe('OutboxRelay events', () => {
  it('emits sent and failed per message, and idle after a pass that found nothing due', async () => {
    const store = new MemoryOutboxStore();
    const clock = fixedClock(T0);
    const good = message();
    const bad = { ...message(), to: 'nobody@example.test' };
    await store.enqueue(good);
    await store.enqueue(bad);
    const relay = relayOf(
      store,
      answering((mail) => (mail.to === bad.to ? new MailTransportError('550 no such mailbox', true) : undefined)),
      clock,
    );
    const events: unknown[] = [];
    relay.on('sent', (event) => events.push(['sent', event]));
    relay.on('failed', (event) => events.push(['failed', event]));
    relay.on('idle', () => events.push(['idle']));
    relay.on('sent', () => {
      throw new Error('a listener that throws');
    });
    assert.deepEqual((await relay.runOnce()).sort(), ['failed', 'sent']);
    assert.deepEqual(
      events.sort((a, b) => String((a as unknown[])[0]).localeCompare(String((b as unknown[])[0]))),
      [
        ['failed', { id: bad.id, kind: 'test', attempts: 1, error: '550 no such mailbox' }],
        ['sent', { id: good.id, kind: 'test', attempts: 1 }],
      ],
      'no body in an event; a listener that throws changes nothing',
    );
    assert.equal((await store.find(good.id))?.status, 'sent');
  });

  it('drained() resolves after a pass that began after it and found nothing due; passes run back to back until then', async () => {
    const store = new MemoryOutboxStore();
    const clock = fixedClock(T0);
    const { scheduled, timers } = manualTimers();
    const transport = new HeldTransport();
    const relay = new OutboxRelay({
      store,
      transport,
      clock,
      leaseMs: LEASE_MS,
      batchSize: 1,
      pollMs: 5000,
      retry: RETRY,
      random: () => 0.5,
      timers,
    });
    await assert.rejects(relay.drained(), /not running/);
    relay.start();
    for (let i = 0; i < 2; i += 1) await store.enqueue(message());
    let drained = false;
    const draining = relay.drained().then(() => (drained = true));
    const idle: number[] = [];
    relay.on('idle', () => idle.push(clock.now()));
    scheduled.shift()!.callback(); // pass 1 claims the first message (a batch of one)
    await transport.started(1);
    transport.pending[0]!.accept();
    await waitUntil(() => scheduled.length === 1);
    assert.equal(scheduled[0]?.ms, 0, 'a whole batch: again at once');
    scheduled.shift()!.callback(); // pass 2 claims the second
    await transport.started(2);
    transport.pending[1]!.accept();
    await waitUntil(() => scheduled.length === 1);
    assert.equal(scheduled[0]?.ms, 0, 'a drained() waits: again at once');
    assert.equal(drained, false);
    scheduled.shift()!.callback(); // pass 3 finds nothing
    await draining;
    assert.deepEqual(idle, [T0]);
    await waitUntil(() => scheduled.length === 1);
    assert.equal(scheduled[0]?.ms, 5000, 'then the poll');
    assert.equal((await store.stats(clock.now())).sent, 2);
    const late = relay.drained();
    await relay.close();
    await assert.rejects(late, /closed/);
  });

  it('prunes finished messages past the retention, at most once per period, again at once after a whole batch', async () => {
    const store = new MemoryOutboxStore();
    const clock = fixedClock(T0);
    const MINUTE = 60_000;
    const { scheduled, timers } = manualTimers();
    const relay = new OutboxRelay({
      store,
      transport: answering(() => undefined),
      clock,
      leaseMs: LEASE_MS,
      batchSize: 10,
      pollMs: 5000,
      retry: RETRY,
      random: () => 0.5,
      pruning: { retentionMs: MINUTE, everyMs: 10 * MINUTE, batchSize: 2 },
      timers,
    });
    relay.start();
    /** Fires the next scheduled pass and waits for its end. */
    const pass = async () => {
      await waitUntil(() => scheduled.length === 1);
      const idle = new Promise<void>((resolve) => relay.once('idle', resolve));
      scheduled.shift()!.callback();
      await idle;
    };
    for (let i = 0; i < 3; i += 1) await store.enqueue(message());
    await relay.runOnce(); // sent at T0
    await pass(); // T0: a prune, of nothing yet
    clock.advance(5 * MINUTE);
    await pass(); // past the retention, but within the period: no prune
    assert.equal((await store.stats(clock.now())).sent, 3);
    clock.advance(5 * MINUTE);
    await pass(); // T0 + 10 min: a prune, a whole batch of 2 ...
    assert.equal((await store.stats(clock.now())).sent, 1);
    await pass(); // ... so another at the next pass
    assert.equal((await store.stats(clock.now())).sent, 0);
    await relay.close();
  });
});

/** Lets the relay's promise chain move on until `done` (bounded: the chain is a few microtasks long). */
async function waitUntil(done: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !done(); i += 1) await new Promise((resolve) => setImmediate(resolve));
  assert.ok(done(), 'the relay did not get there');
}
