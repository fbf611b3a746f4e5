/**
 * What the first login of each imported user will cost, per hash format and parameters, against
 * the login of an unknown user (one dummy argon2id verification), measured here by verifying a
 * random password against one hash of each group (the cost is the same whether the password
 * matches or not). Formats cheaper than the dummy are padded up to it at login
 * (passwords/verification-padding.ts); dearer ones answer a wrong password more slowly than for
 * an unknown user until that user's first login, which tells that the user exists. The import
 * prints these numbers and warns above the enumeration test's bound (ENUMERATION_BOUND times the
 * dummy), as SECURITY.md "Enumeration resistance" explains.
 */
import { randomBytes } from 'node:crypto';
import { identifyHash } from '../passwords/legacy/hash-formats.js';

/** The enumeration test's bound on the ratio of medians (test/http/enumeration.test.ts). */
export const ENUMERATION_BOUND = 2;
/** At most this many groups are measured (the dearest by their parameters first would be a guess; the first seen are measured). */
export const MAX_GROUPS = 12;

export interface LoginCostGroup {
  /** The scheme and its cost parameters, e.g. `bcrypt $2b$ (cost=12)`. */
  readonly label: string;
  readonly users: number;
  readonly ms: number;
  /** ms over the unknown user's login. */
  readonly ratio: number;
  readonly aboveBound: boolean;
}

export interface LoginCostReport {
  readonly unknownUserMs: number;
  readonly groups: readonly LoginCostGroup[];
  /** Groups beyond MAX_GROUPS, not measured. */
  readonly unmeasured: number;
}

export interface CostMeter {
  verify(stored: string, password: string): Promise<boolean>;
  verifyDummy(password: string): Promise<false>;
}

/** Measures the verification cost of each group of `hashes` (by scheme and parameters) with `meter`, timed by `now` (ms). */
export async function estimateLoginCosts(
  meter: CostMeter,
  hashes: readonly string[],
  now: () => number = () => performance.now(),
): Promise<LoginCostReport> {
  const groups = new Map<string, { sample: string; users: number }>();
  for (const hash of hashes) {
    const identified = identifyHash(hash);
    if (!identified) continue;
    const params = Object.entries(identified.params)
      .map(([name, value]) => `${name}=${value}`)
      .join(', ');
    const label = params === '' ? identified.scheme : `${identified.scheme} (${params})`;
    const group = groups.get(label);
    if (group) group.users += 1;
    else groups.set(label, { sample: hash, users: 1 });
  }
  const password = () => randomBytes(12).toString('base64url');
  const time = async (work: () => Promise<unknown>, runs: number): Promise<number> => {
    const samples: number[] = [];
    for (let run = 0; run < runs; run += 1) {
      const started = now();
      await work();
      samples.push(now() - started);
    }
    samples.sort((a, b) => a - b);
    return samples[Math.floor(samples.length / 2)]!;
  };
  // The dummy first: its duration is also what cheaper formats are padded to.
  await meter.verifyDummy(password());
  const unknownUserMs = await time(() => meter.verifyDummy(password()), 3);
  const measured: LoginCostGroup[] = [];
  for (const [label, { sample, users }] of [...groups].slice(0, MAX_GROUPS)) {
    const once = await time(() => meter.verify(sample, password()), 1);
    // Cheap ones again, for a steadier number; a dear one once is enough to say it is dear.
    const ms = once < 4 * unknownUserMs ? await time(() => meter.verify(sample, password()), 3) : once;
    const ratio = ms / unknownUserMs;
    measured.push({ label, users, ms, ratio, aboveBound: ratio > ENUMERATION_BOUND });
  }
  return { unknownUserMs, groups: measured, unmeasured: Math.max(0, groups.size - MAX_GROUPS) };
}
