import assert from 'node:assert/strict';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` (up to `attempts` times, `intervalMs` apart) until it holds; fails with `label` otherwise. */
export async function eventually(check: () => Promise<boolean>, label: string, attempts = 20, intervalMs = 25): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    if (await check()) return;
    await sleep(intervalMs);
  }
  assert.fail(label);
}
