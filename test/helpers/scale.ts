/** What the multi-instance and fault tests (test/scale) share; no server code, since they only spawn it. */
import { randomBytes } from 'node:crypto';

export interface Tokens {
  readonly access_token: string;
  readonly refresh_token: string;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A name no other test (or earlier run) uses: the tests share one Redis and, across runs, nothing else. */
export const uniqueName = (prefix: string): string => `${prefix}${randomBytes(4).toString('hex')}`;
