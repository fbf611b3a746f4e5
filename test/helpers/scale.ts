/** What the multi-instance and fault tests (test/scale) share; no server code, since they only spawn it. */
import { randomBytes } from 'node:crypto';
import type { ServeProcess } from './cli.js';

export interface Tokens {
  readonly access_token: string;
  readonly refresh_token: string;
}

export { sleep } from './wait.js';

/** A name no other test (or earlier run) uses: the tests share one Redis and, across runs, nothing else. */
export const uniqueName = (prefix: string): string => `${prefix}${randomBytes(4).toString('hex')}`;

/** Starts them together; if one fails, stops the others (no process outlives the test) and throws its error. */
export async function startTogether(starts: ReadonlyArray<() => Promise<ServeProcess>>): Promise<ServeProcess[]> {
  const settled = await Promise.allSettled(starts.map((start) => start()));
  const failed = settled.find((result) => result.status === 'rejected');
  const started = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  if (failed) {
    await Promise.all(started.map((server) => server.stop('SIGKILL')));
    throw failed.reason;
  }
  return started;
}
