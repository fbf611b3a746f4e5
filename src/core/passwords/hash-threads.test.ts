import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import bcryptjs from 'bcryptjs';
import { HashThreads } from './hash-threads.js';
import { Argon2PasswordHasher } from './password-hasher.js';
import { WorkLimiter } from './work-limiter.js';

const PARAMS = { memoryKiB: 1024, iterations: 1, parallelism: 1 };

/** The nice value of every thread of this process (Linux), from /proc/self/task/<tid>/stat field 19. */
function threadNiceValues(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[16]);
  });
}

describe('HashThreads', () => {
  it('hashes and verifies argon2id and bcrypt on its threads; an unreadable hash is a mismatch', async () => {
    const threads = new HashThreads(2, 0);
    try {
      const hash = (await threads.run({ op: 'argon2-hash', password: 'correct horse', params: PARAMS })) as string;
      assert.match(hash, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
      assert.equal(await threads.run({ op: 'argon2-verify', hash, password: 'correct horse' }), true);
      assert.equal(await threads.run({ op: 'argon2-verify', hash, password: 'wrong horse' }), false);
      assert.equal(await threads.run({ op: 'argon2-verify', hash: '$argon2id$garbage', password: 'x' }), false);
      const bcrypt = bcryptjs.hashSync('legacy password', 4);
      assert.equal(await threads.run({ op: 'bcrypt-verify', hash: bcrypt, password: 'legacy password' }), true);
      assert.equal(await threads.run({ op: 'bcrypt-verify', hash: bcrypt, password: 'other' }), false);
    } finally {
      await threads.close();
    }
  });

  it('runs its threads at the nice value asked for (Linux)', { skip: process.platform !== 'linux' && 'Linux only' }, async () => {
    const before = threadNiceValues().filter((nice) => nice === 7).length;
    const threads = new HashThreads(2, 7);
    try {
      assert.deepEqual(await threads.ready(), [7, 7]);
      assert.equal(threadNiceValues().filter((nice) => nice === 7).length, before + 2);
      assert.equal(Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[16]), 0, 'the event loop keeps its priority');
    } finally {
      await threads.close();
    }
  });

  it('takes more tasks than threads: each waits in its thread and all finish', async () => {
    const threads = new HashThreads(1, 0);
    try {
      const hashes = await Promise.all(
        Array.from({ length: 5 }, (_, i) => threads.run({ op: 'argon2-hash', password: `password ${i}`, params: PARAMS })),
      );
      assert.equal(new Set(hashes).size, 5);
    } finally {
      await threads.close();
    }
  });

  it('replaces a thread that dies, failing only what it held; refuses work once closed', async () => {
    const threads = new HashThreads(1, 0);
    await threads.ready();
    const held = threads.run({ op: 'argon2-hash', password: 'x', params: { ...PARAMS, memoryKiB: 65_536, iterations: 4 } });
    const internals = threads as unknown as { threads: Array<{ worker: { terminate(): Promise<number> } }> };
    await internals.threads[0]!.worker.terminate();
    await assert.rejects(held, /hashing thread exited/);
    assert.match((await threads.run({ op: 'argon2-hash', password: 'y', params: PARAMS })) as string, /^\$argon2id\$/);
    await threads.close();
    await assert.rejects(threads.run({ op: 'argon2-hash', password: 'z', params: PARAMS }), /closed/);
  });

  it('serves Argon2PasswordHasher: a lost thread is an error, never a wrong password', async () => {
    const threads = new HashThreads(1, 0);
    const hasher = new Argon2PasswordHasher(PARAMS, new WorkLimiter(2, 10), threads);
    const stored = await hasher.hash('a password');
    assert.equal(await hasher.verify(stored, 'a password'), true);
    assert.equal(await hasher.verify(stored, 'another'), false);
    await threads.close();
    await assert.rejects(hasher.verify(stored, 'a password'), /closed/);
  });
});
