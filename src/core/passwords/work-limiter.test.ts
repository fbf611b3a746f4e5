import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { fixedClock } from '../clock.js';
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
    assert.deepEqual(
      results,
      Array.from({ length: 40 }, (_, i) => i),
    );
    assert.equal(peak, 3);
    assert.equal(limiter.running, 0);
    assert.equal(limiter.queued, 0);
  });

  it('reports running and queued tasks, and starts queued ones only when a slot frees', async () => {
    const limiter = new WorkLimiter(2, 10);
    const gates = ['a', 'b', 'c', 'd'].map((name) => gate(name));
    const runs = gates.map((g) => limiter.run(g.task));
    await tick();
    assert.deepEqual(
      gates.map((g) => g.started()),
      [true, true, false, false],
    );
    assert.equal(limiter.running, 2);
    assert.equal(limiter.queued, 2);

    gates[0]?.release();
    await tick();
    assert.deepEqual(
      gates.map((g) => g.started()),
      [true, true, true, false],
    );
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
    await assert.rejects(
      limiter.run(async () => 'x'),
      OverloadedError,
    );
    await tick();
    busy.release();
    await run;
    assert.equal(await limiter.run(async () => 'after'), 'after');
  });

  it('releases the slot when a task rejects or throws synchronously', async () => {
    const limiter = new WorkLimiter(1, 0);
    await assert.rejects(
      limiter.run(() => Promise.reject(new Error('async boom'))),
      /async boom/,
    );
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
    assert.throws(() => new WorkLimiter(1, 1, { maxWaitMs: 0 }), TypeError);
    assert.throws(() => new WorkLimiter(1, 1, { maxWaitMs: Number.NaN }), TypeError);
    assert.throws(() => new WorkLimiter(1, 1, { smoothing: 0 }), TypeError);
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

  describe('admission control (maxWaitMs)', () => {
    /** A task that takes `ms` on the injected clock. */
    const timed = (clock: ReturnType<typeof fixedClock>, ms: number) => async () => {
      clock.advance(ms);
      return ms;
    };

    it('averages measured task times', async () => {
      const clock = fixedClock(0);
      const limiter = new WorkLimiter(1, 10, { clock, smoothing: 0.5 });
      assert.equal(limiter.stats().averageTaskMs, 0);
      await limiter.run(timed(clock, 100));
      assert.equal(limiter.stats().averageTaskMs, 100);
      await limiter.run(timed(clock, 200));
      assert.equal(limiter.stats().averageTaskMs, 150);
      assert.equal(limiter.stats().completed, 2);
    });

    it('refuses at once a task whose estimated wait exceeds the bound, with Retry-After from the estimate', async () => {
      const clock = fixedClock(0);
      const limiter = new WorkLimiter(1, 100, { clock, maxWaitMs: 250 });
      await limiter.run(timed(clock, 100));
      const busy = gate('busy');
      const runs = [limiter.run(busy.task)];
      assert.equal(limiter.estimatedWaitMs(), 100);
      const queued = [gate('q1'), gate('q2')];
      for (const g of queued) runs.push(limiter.run(g.task));
      assert.equal(limiter.queued, 2);
      assert.equal(limiter.estimatedWaitMs(), 300);
      const refused = gate('refused');
      await assert.rejects(limiter.run(refused.task), (error: unknown) => {
        assert.ok(error instanceof OverloadedError);
        assert.equal(error.retryAfterSeconds, 1);
        return true;
      });
      assert.equal(refused.started(), false);
      assert.equal(limiter.queued, 2, 'the refused task never entered the queue');
      assert.equal(limiter.stats().rejected, 1);
      assert.equal(limiter.stats().timedOut, 0);
      for (const g of [busy, ...queued]) {
        await tick();
        g.release();
      }
      await Promise.all(runs);
    });

    it('spreads the estimate over the slots', async () => {
      const clock = fixedClock(0);
      const limiter = new WorkLimiter(4, 100, { clock, maxWaitMs: 1_000 });
      await limiter.run(timed(clock, 400));
      const gates = Array.from({ length: 4 + 9 }, (_, i) => gate(`g${i}`));
      const runs = gates.map((g) => limiter.run(g.task));
      // 9 queued + the newcomer = 10 tasks of 400 ms over 4 slots: 1000 ms, still admitted.
      assert.equal(limiter.estimatedWaitMs(), 1_000);
      const tenth = gate('tenth');
      runs.push(limiter.run(tenth.task));
      await assert.rejects(
        limiter.run(async () => 'over'),
        OverloadedError,
      );
      assert.equal(limiter.estimatedWaitMs(), 1_100);
      for (const g of [...gates, tenth]) {
        await tick();
        g.release();
      }
      await Promise.all(runs);
    });

    it('admits on the queue limit alone until a task time has been measured', async (t) => {
      // The fixed clock says no time passes; the real timers must agree (on a loaded machine 10 ms do pass).
      t.mock.timers.enable({ apis: ['setTimeout'] });
      const limiter = new WorkLimiter(1, 3, { clock: fixedClock(0), maxWaitMs: 10 });
      const gates = ['a', 'b', 'c', 'd'].map((name) => gate(name));
      const runs = gates.map((g) => limiter.run(g.task));
      assert.equal(limiter.queued, 3);
      assert.equal(limiter.estimatedWaitMs(), 0);
      for (const g of gates) {
        await tick();
        g.release();
      }
      await Promise.all(runs);
    });

    it('takes a waiter out of the queue with OverloadedError once it has waited maxWaitMs', async (t) => {
      t.mock.timers.enable({ apis: ['setTimeout'] });
      const clock = fixedClock(0);
      const limiter = new WorkLimiter(1, 10, { clock, maxWaitMs: 500 });
      const busy = gate('busy');
      const running = limiter.run(busy.task);
      const early = gate('early');
      const earlyRun = limiter.run(early.task);
      earlyRun.catch(() => undefined);
      t.mock.timers.tick(300);
      clock.advance(300);
      const late = gate('late');
      const lateRun = limiter.run(late.task);
      assert.equal(limiter.queued, 2);

      t.mock.timers.tick(200);
      await assert.rejects(earlyRun, (error: unknown) => error instanceof OverloadedError && error.retryAfterSeconds >= 1);
      assert.equal(limiter.queued, 1, 'the waiter left the queue');
      assert.equal(early.started(), false);
      assert.deepEqual({ rejected: limiter.stats().rejected, timedOut: limiter.stats().timedOut }, { rejected: 1, timedOut: 1 });

      // The slot goes to the next waiter, which waited 200 ms on the clock.
      clock.advance(200);
      await tick();
      busy.release();
      await running;
      await tick();
      assert.equal(late.started(), true);
      late.release();
      assert.equal(await lateRun, 'late');
      t.mock.timers.tick(1_000);
      assert.equal(limiter.stats().timedOut, 1, 'a started task is never timed out');
      assert.equal(limiter.running, 0);
      assert.equal(limiter.queued, 0);
    });

    it('reports running, queued, rejected and a moving average of the wait', async (t) => {
      t.mock.timers.enable({ apis: ['setTimeout'] });
      const clock = fixedClock(0);
      const limiter = new WorkLimiter(1, 1, { clock, maxWaitMs: 1_000, smoothing: 0.5 });
      const first = gate('first');
      const firstRun = limiter.run(first.task);
      const second = gate('second');
      const secondRun = limiter.run(second.task);
      await assert.rejects(
        limiter.run(async () => 'full'),
        OverloadedError,
      );
      assert.deepEqual(limiter.stats(), {
        running: 1,
        queued: 1,
        completed: 0,
        rejected: 1,
        timedOut: 0,
        averageWaitMs: 0,
        averageTaskMs: 0,
      });
      clock.advance(400);
      await tick();
      first.release();
      await firstRun;
      // Waits so far: 0 (first), 400 (second): 0 + 0.5 * (400 - 0).
      assert.equal(limiter.stats().averageWaitMs, 200);
      assert.equal(limiter.stats().averageTaskMs, 400);
      await tick();
      second.release();
      await secondRun;
      assert.equal(limiter.stats().completed, 2);
      assert.equal(limiter.stats().running, 0);
    });
  });
});
