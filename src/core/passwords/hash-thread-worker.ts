/**
 * One hashing thread (see hash-threads.ts): takes tasks from its port one
 * at a time and runs them with the libraries' synchronous functions, so the
 * whole hash runs on this thread, at this thread's scheduling priority.
 * Tasks that arrive while one runs wait in the port: the thread goes on to
 * the next without waiting for the event loop to hand it one (ADR 0007).
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { hashSync as argon2HashSync, verifySync as argon2VerifySync } from '@node-rs/argon2';
import { verifySync as bcryptVerifySync } from '@node-rs/bcrypt';
import { argon2idOptions } from './argon2-options.js';
import { verifyLegacyHashSync } from './legacy/hash-formats.js';
import type { HashTask, HashTaskResult, HashThreadData } from './hash-threads.js';

/**
 * Lowers this thread's priority (Linux: a thread's nice value is its own, set through its
 * thread id). Returns the nice value in effect, or undefined where it could not be set.
 */
function lowerPriority(nice: number): number | undefined {
  if (nice === 0) return 0;
  try {
    // "/proc/thread-self" links to "<pid>/task/<tid>".
    const tid = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
    if (!Number.isInteger(tid) || tid <= 0) return undefined;
    setPriority(tid, nice);
    return nice;
  } catch {
    return undefined;
  }
}

function run(task: HashTask): string | boolean {
  switch (task.op) {
    case 'argon2-hash':
      return argon2HashSync(task.password, argon2idOptions(task.params));
    // A stored hash the library cannot read is a mismatch, as on libuv's pool.
    case 'argon2-verify':
      return mismatchOnError(() => argon2VerifySync(task.hash, task.password));
    case 'bcrypt-verify':
      return mismatchOnError(() => bcryptVerifySync(task.password, task.hash));
    case 'legacy-verify':
      return mismatchOnError(() => verifyLegacyHashSync(task.hash, task.password));
  }
}

function mismatchOnError(verify: () => boolean): boolean {
  try {
    return verify();
  } catch {
    return false;
  }
}

const port = parentPort;
if (port) {
  const data = workerData as HashThreadData;
  port.postMessage({ ready: true, nice: lowerPriority(data.nice) ?? null });
  port.on('message', (task: HashTask) => {
    let result: HashTaskResult;
    try {
      result = { id: task.id, ok: true, value: run(task) };
    } catch (error) {
      result = { id: task.id, ok: false, message: error instanceof Error ? error.message : String(error) };
    }
    port.postMessage(result);
  });
}
