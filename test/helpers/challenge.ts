/**
 * Solving a login challenge as a client would: altcha-lib's own solver (the
 * one its browser widget runs) over the challenge a 429 carried, encoded as
 * the `challenge_solution` parameter (base64 JSON of {challenge, solution}).
 */
import assert from 'node:assert/strict';
import { solveChallenge, type Challenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2';

export interface Solved {
  readonly solution: string;
  /** Attempts the solver made: the work the challenge cost (times its PBKDF2 iterations). */
  readonly counter: number;
}

export async function solve(challenge: Challenge): Promise<Solved> {
  const solution = await solveChallenge({ challenge, deriveKey, timeout: 120_000 });
  assert.ok(solution, 'the challenge is solvable');
  return {
    solution: Buffer.from(JSON.stringify({ challenge, solution })).toString('base64'),
    counter: solution.counter,
  };
}

/** The challenge a 429 body carried (fails the test when there is none). */
export function challengeOf(body: unknown): Challenge {
  const challenge = (body as { challenge?: Challenge }).challenge;
  assert.ok(challenge && typeof challenge.signature === 'string', `a challenge in ${JSON.stringify(body)}`);
  return challenge;
}
