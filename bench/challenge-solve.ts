/**
 * bench/challenge-solve.ts — `npm run bench:challenge`: what the login challenge costs.
 *
 *   - the owner: Chromium (Debian's, through playwright-core) solving challenges at the defaults'
 *     LOGIN_CHALLENGE_WORK, at every level up to LOGIN_CHALLENGE_MAX_DOUBLINGS, with altcha-lib's
 *     WebCrypto solver (what the ALTCHA widget runs); median of N solves per level;
 *   - an attacker's native solver in the same run: altcha-lib's node:crypto solver on one core, same
 *     challenges; the ratio browser / native is the attacker's advantage per core;
 *   - the server: CPU time to issue a challenge and to check a solution (median of many).
 *
 * Bounded: N = 3 solves per level (1 with --short, levels 0 and 1 only); 127.0.0.1 only.
 */
import { solveChallenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2';
import { fixedClock } from '../src/core/clock.js';
import { loadConfig } from '../src/server/config.js';
import { LoginChallenges } from '../src/core/login/login-challenge.js';
import { startBrowserSolver } from '../test/helpers/browser-solver.js';

const short = process.argv.includes('--short');
const solvesPerLevel = short ? 1 : 3;
const settings = loadConfig({ SECRET_KEY: 'bench-challenge-secret-key-0123456789abcdef' }).abuse.challenge;
const levels = short ? [0, 1] : Array.from({ length: settings.maxDoublings + 1 }, (_, level) => level);
const challenges = new LoginChallenges('bench-challenge-secret-key-0123456789abcdef', fixedClock(Date.now()), settings);

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

console.log(
  `# login challenge: PBKDF2-SHA256, work ${settings.work.toLocaleString('en')} iterations at level 0, doubling up to level ${settings.maxDoublings}`,
);
const solver = await startBrowserSolver();
const rows: Array<{ level: number; browserMs: number; nativeMs: number }> = [];
try {
  for (const level of levels) {
    const browser: number[] = [];
    const native: number[] = [];
    for (let i = 0; i < solvesPerLevel; i += 1) {
      const challenge = await challenges.issue('bench-account', level);
      browser.push((await solver.solve(challenge)).ms);
      const started = performance.now();
      const solution = await solveChallenge({ challenge, deriveKey, timeout: 600_000 });
      if (solution === null) throw new Error('the native solver gave up');
      native.push(performance.now() - started);
    }
    const row = { level, browserMs: median(browser), nativeMs: median(native) };
    rows.push(row);
    console.log(
      `level ${level}: Chromium ${(row.browserMs / 1000).toFixed(2)} s, native ${(row.nativeMs / 1000).toFixed(2)} s (median of ${solvesPerLevel}); browser/native ${(row.browserMs / row.nativeMs).toFixed(2)}`,
    );
  }
} finally {
  await solver.close();
}

// The server's side: issuing (one PBKDF2 derivation and two HMACs) and checking (HMACs only).
const issueUs: number[] = [];
const checkUs: number[] = [];
const sample = await challenges.issue('bench-account', 0);
const solved = await solveChallenge({ challenge: sample, deriveKey });
const encoded = Buffer.from(JSON.stringify({ challenge: sample, solution: solved })).toString('base64');
for (let i = 0; i < (short ? 50 : 500); i += 1) {
  let started = process.hrtime.bigint();
  await challenges.issue('bench-account', 0);
  issueUs.push(Number(process.hrtime.bigint() - started) / 1000);
  started = process.hrtime.bigint();
  const check = await challenges.check(encoded, 'bench-account');
  checkUs.push(Number(process.hrtime.bigint() - started) / 1000);
  if (check.outcome !== 'ok') throw new Error(`a valid solution was refused: ${check.outcome}`);
}
console.log(`server: issue ${median(issueUs).toFixed(0)} µs, check ${median(checkUs).toFixed(0)} µs (medians)`);
const worst = rows.at(-1)!;
console.log(
  `RESULT ${JSON.stringify({ work: settings.work, maxDoublings: settings.maxDoublings, levels: rows, worstBrowserSeconds: worst.browserMs / 1000, issueUs: median(issueUs), checkUs: median(checkUs) })}`,
);
