/**
 * What the browser tests share: Debian's Chromium (driven by playwright-core), where their
 * screenshots go, how long one action may wait on a busy machine, the skip rule (skipped where
 * Chromium is missing, except under CI=true, where the test fails instead), and axe-core's source
 * and violation shape for the accessibility checks.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
/** Per action; the machine may be busy, and a locator waits only as long as it must. */
export const ACTION_TIMEOUT_MS = 20_000;

/** The `skip` option of a browser suite. */
export const skipWithoutChromium: string | false =
  !existsSync(CHROMIUM) && process.env.CI !== 'true'
    ? `${CHROMIUM} is missing (apt-get install chromium); under CI=true this test fails instead`
    : false;

/** What axe-core reports of a violation, as the tests keep it. */
export interface Violation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly targets: string[];
}

/** axe-core's script, to inject into a page. */
export function readAxeSource(): string {
  return readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
}
