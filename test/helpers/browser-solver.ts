/**
 * Solving login challenges in a real browser: Debian's Chromium through
 * playwright-core, running altcha-lib's own solver with its WebCrypto PBKDF2
 * (what the ALTCHA widget runs), on a blank page served from 127.0.0.1 with
 * altcha-lib's browser modules. For the browser test and `npm run bench:challenge`.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, normalize } from 'node:path';
import { createRequire } from 'node:module';
import type { Challenge } from 'altcha-lib';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Why a browser solve cannot run here (undefined: it can). */
export function browserSkipReason(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  return `${CHROMIUM} is missing (apt-get install chromium)`;
}

export interface BrowserSolve {
  /** The `challenge_solution` parameter. */
  readonly solution: string;
  /** How long the page took to solve it. */
  readonly ms: number;
}

export interface BrowserSolver {
  solve(challenge: Challenge): Promise<BrowserSolve>;
  close(): Promise<void>;
}

/** altcha-lib's ESM build (dist/esm/v2), which its browser entry points import. */
function altchaModules(): string {
  const entry = createRequire(import.meta.url).resolve('altcha-lib');
  return join(dirname(entry), '..', '..', 'esm', 'v2');
}

export async function startBrowserSolver(): Promise<BrowserSolver> {
  const root = altchaModules();
  const files: Server = createServer((request, response) => {
    const path = normalize(decodeURIComponent((request.url ?? '/').split('?')[0]!));
    if (path === '/') {
      response.setHeader('content-type', 'text/html; charset=utf-8');
      response.end('<!doctype html><title>solver</title>');
      return;
    }
    readFile(join(root, path))
      .then((body) => {
        response.setHeader('content-type', 'text/javascript; charset=utf-8');
        response.end(body);
      })
      .catch(() => {
        response.statusCode = 404;
        response.end();
      });
  });
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const page: Page = await browser.newPage();
    await page.goto(`${origin}/`);
    return {
      async solve(challenge) {
        // Runs in the page (a string: this file is compiled without the DOM's types).
        const solved = (await page.evaluate(
          `(async (challenge) => {
            const { solveChallenge } = await import('/pow.js');
            const { deriveKey } = await import('/algorithms/web/pbkdf2.js');
            const started = performance.now();
            const solution = await solveChallenge({ challenge, deriveKey, timeout: 300000 });
            const ms = performance.now() - started;
            return { ms, payload: solution && btoa(JSON.stringify({ challenge, solution })) };
          })(${JSON.stringify(challenge)})`,
        )) as { ms: number; payload: string | null };
        if (solved.payload === null) throw new Error('the browser did not solve the challenge');
        return { solution: solved.payload, ms: solved.ms };
      },
      async close() {
        await browser?.close();
        await new Promise<void>((resolve) => files.close(() => resolve()));
      },
    };
  } catch (error) {
    await browser?.close();
    files.close();
    throw error;
  }
}
