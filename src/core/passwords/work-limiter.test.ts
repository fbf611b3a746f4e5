import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { OverloadedError } from '../errors.js';
import { WorkLimiter } from './work-limiter.js';

/** A task that runs until its release() is called. */
interface Gate {
  readonly task: () => Promise<string>;
  readonly started: () => boolean;
  release(): void;
}

function gate(name: string, log: string[] = []): Gate {
  let started = false;
  let release: () => void = () => assert.fail(`${name} released before it started`);
  return {
    task: () =>
      new Promise<string>((resolve) => {
        started = true;
        log.push(name);
        release = () => resolve(name);
      }),
    started: () => started,
    release: () => release(),
  };
}

describe('WorkLimiter', () => {
  it('never runs more than `concurrency` tasks at once', async () => {
    const limiter = new WorkLimiter(3, 100);
    let running = 0;
    let peak = 0;
    const task = async (i: number) => {
      running += 1;
      peak = Math.max(peak, running);
      await tick();
      if (i % 2 === 0) await tick();
      running -= 1;
      return i;
    };
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => limiter.run(() => task(i))));
    assert.deepEqual(results, Array.from({ length: 40 }, (_, i) => i));
    assert.equal(peak, 3);
    assert.equal(limiter.running, 0);
    assert.equal(limiter.queued, 0);
  });

  it('reports running and queued tasks, and starts queued ones only when a slot frees', async () => {
    const limiter = new WorkLimiter(2, 10);
    const gates = ['a', 'b', 'c', 'd'].map((name) => gate(name));
    const runs = gates.map((g) => limiter.run(g.task));
    await tick();
    assert.deepEqual(gates.map((g) => g.started()), [true, true, false, false]);
    assert.equal(limiter.running, 2);
    assert.equal(limiter.queued, 2);

    gates[0]?.release();
    await tick();
    assert.deepEqual(gates.map((g) => g.started()), [true, true, true, false]);
    assert.equal(limiter.running, 2);
    assert.equal(limiter.queued, 1);

    for (const g of gates.slice(1)) {
      await tick();
      g.release();
    }
    assert.deepEqual(await Promise.all(runs), ['a', 'b', 'c', 'd']);
    assert.equal(limiter.running, 0);
  });

  it('runs queued tasks in the order they were queued', async () => {
    const limiter = new WorkLimiter(1, 10);
    const log: string[] = [];
    const gates = ['first', 'second', 'third', 'fourth', 'fifth'].map((name) => gate(name, log));
    const runs = gates.map((g) => limiter.run(g.task));
    for (const g of gates) {
      await tick();
      g.release();
    }
    await Promise.all(runs);
    assert.deepEqual(log, ['first', 'second', 'third', 'fourth', 'fifth']);
  });

  it('throws OverloadedError when every slot is busy and the queue is full', async () => {
    const limiter = new WorkLimiter(1, 2);
    const gates = ['a', 'b', 'c'].map((name) => gate(name));
    const runs = gates.map((g) => limiter.run(g.task));
    const refused = gate('refused');
    await assert.rejects(limiter.run(refused.task), (error: unknown) => {
      assert.ok(error instanceof OverloadedError);
      assert.equal(error.code, 'ERR_OVERLOADED');
      assert.equal(error.retryAfterSeconds, 1);
      return true;
    });
    assert.equal(refused.started(), false);
    assert.equal(limiter.queued, 2);
    for (const g of gates) {
      await tick();
      g.release();
    }
    await Promise.all(runs);
  });

  it('refuses at once with a queue limit of 0 when the slots are busy', async () => {
    const limiter = new WorkLimiter(1, 0);
    const busy = gate('busy');
    const run = limiter.run(busy.task);
    await assert.rejects(limiter.run(async () => 'x'), OverloadedError);
    await tick();
    busy.release();
    await run;
    assert.equal(await limiter.run(async () => 'after'), 'after');
  });

  it('releases the slot when a task rejects or throws synchronously', async () => {
    const limiter = new WorkLimiter(1, 0);
    await assert.rejects(limiter.run(() => Promise.reject(new Error('async boom'))), /async boom/);
    assert.equal(limiter.running, 0);
    await assert.rejects(
      limiter.run(() => {
        throw new Error('sync boom');
      }),
      /sync boom/,
    );
    assert.equal(limiter.running, 0);
    assert.equal(await limiter.run(async () => 'still works'), 'still works');
  });

  it('hands the slot of a failed task to the next queued task', async () => {
    const limiter = new WorkLimiter(1, 1);
    let fail: (error: Error) => void = () => undefined;
    const failing = limiter.run(() => new Promise<never>((_, reject) => (fail = reject)));
    const next = limiter.run(async () => 'next ran');
    await tick();
    fail(new Error('boom'));
    await assert.rejects(failing, /boom/);
    assert.equal(await next, 'next ran');
    assert.equal(limiter.running, 0);
    assert.equal(limiter.queued, 0);
  });

  it('rejects a bad concurrency or queue limit with TypeError', () => {
    for (const [concurrency, queueLimit] of [
      [0, 1],
      [1.5, 1],
      [-1, 1],
      [1, -1],
      [1, 0.5],
      [Number.NaN, 1],
    ] as const) {
      assert.throws(() => new WorkLimiter(concurrency, queueLimit), TypeError);
    }
  });
});
