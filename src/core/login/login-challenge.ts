/**
 * The proof-of-work challenge that stands in for a login throttle's "wait": an ALTCHA v2 challenge
 * (PBKDF2-SHA256 through altcha-lib, signed with keys derived from SECRET_KEY), bound to one account, expiring,
 * accepted once, its work doubling with the attack's level up to `maxDoublings`; an attempt that comes back
 * with its solution reaches the password check. The solution travels as the ALTCHA widget sends it: base64 of
 * `{"challenge": {"parameters", "signature"}, "solution": {"counter", "derivedKey"}}` (ADR 0009).
 */
import { hkdfSync, randomInt } from 'node:crypto';
import { createChallenge, verifySolution, type Challenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2';
import type { Clock } from '../clock.js';
import type { LoginChallengeSettings } from '../config.js';

export type { Challenge as LoginChallenge } from 'altcha-lib';

/** PBKDF2 iterations per attempt of the solver: enough that the browser's per-call overhead is small. */
export const CHALLENGE_COST = 1000;
export const CHALLENGE_ALGORITHM = 'PBKDF2/SHA-256';
/** How long a challenge may be solved and used. */
export const CHALLENGE_LIFETIME_MS = 10 * 60_000;
/** A solution field longer than this is not a solution (a real one is about 700 characters). */
export const MAX_SOLUTION_LENGTH = 4096;

/** Why a solution was not accepted; `ok` with the signature that the caller claims once. */
export type SolutionCheck =
  | { readonly outcome: 'ok'; readonly id: string; readonly level: number }
  | { readonly outcome: 'malformed' | 'invalid' | 'expired' | 'other_account' };

export class LoginChallenges {
  private readonly signatureSecret: string;
  private readonly keySignatureSecret: string;

  constructor(
    secretKey: string,
    private readonly clock: Clock,
    readonly settings: LoginChallengeSettings,
  ) {
    const derive = (info: string) =>
      Buffer.from(hkdfSync('sha256', Buffer.from(secretKey, 'utf8'), 'portcullis', info, 32)).toString('hex');
    this.signatureSecret = derive('login-challenge/signature/v1');
    this.keySignatureSecret = derive('login-challenge/key-signature/v1');
  }

  /** The most PBKDF2 iterations a solve of this level can take (the expected work is 3/4 of it). */
  maxWork(level: number): number {
    return this.settings.work * 2 ** this.clampLevel(level);
  }

  clampLevel(level: number): number {
    return Math.max(0, Math.min(this.settings.maxDoublings, Math.floor(level)));
  }

  /** A challenge for one attempt at `accountKey`, its work doubled `level` times (capped). */
  async issue(accountKey: string, level: number): Promise<Challenge> {
    const clamped = this.clampLevel(level);
    const attempts = Math.max(2, Math.ceil(this.maxWork(clamped) / CHALLENGE_COST));
    // The solver counts up from 0 to the secret counter: uniform in [attempts/2, attempts].
    const counter = randomInt(Math.ceil(attempts / 2), attempts + 1);
    return createChallenge({
      algorithm: CHALLENGE_ALGORITHM,
      cost: CHALLENGE_COST,
      counter,
      deriveKey,
      // Expiry is checked here against core's clock (altcha-lib would read the wall clock).
      data: { account: accountKey, expires: this.clock.now() + CHALLENGE_LIFETIME_MS, level: clamped },
      hmacSignatureSecret: this.signatureSecret,
      hmacKeySignatureSecret: this.keySignatureSecret,
    });
  }

  /** Checks a solution for an attempt at `accountKey`. Never throws on client input. */
  async check(encoded: string, accountKey: string): Promise<SolutionCheck> {
    const payload = decode(encoded);
    if (payload === undefined) return { outcome: 'malformed' };
    const { challenge, solution } = payload;
    const data = challenge.parameters.data;
    // The algorithm and cost are part of what the signature covers, but a challenge of ours has exactly these.
    if (challenge.parameters.algorithm !== CHALLENGE_ALGORITHM || challenge.parameters.cost !== CHALLENGE_COST)
      return { outcome: 'invalid' };
    let verified: boolean;
    try {
      verified = (
        await verifySolution({
          challenge,
          solution,
          deriveKey,
          hmacSignatureSecret: this.signatureSecret,
          hmacKeySignatureSecret: this.keySignatureSecret,
        })
      ).verified;
    } catch {
      return { outcome: 'invalid' };
    }
    if (!verified || data === undefined) return { outcome: 'invalid' };
    if (typeof data.expires !== 'number' || data.expires <= this.clock.now()) return { outcome: 'expired' };
    if (data.account !== accountKey) return { outcome: 'other_account' };
    return { outcome: 'ok', id: challenge.signature!, level: typeof data.level === 'number' ? data.level : 0 };
  }
}

interface Payload {
  readonly challenge: Challenge;
  readonly solution: { counter: number; derivedKey: string; time?: number };
}

/** base64(JSON) of {challenge, solution}, checked for shape before any of it is used. */
function decode(encoded: string): Payload | undefined {
  if (encoded.length === 0 || encoded.length > MAX_SOLUTION_LENGTH || !/^[A-Za-z0-9+/=_-]+$/.test(encoded)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isObject(value) || !isObject(value.challenge) || !isObject(value.solution)) return undefined;
  const { challenge, solution } = value;
  const parameters = challenge.parameters;
  if (!isObject(parameters) || typeof challenge.signature !== 'string') return undefined;
  if (typeof parameters.algorithm !== 'string' || typeof parameters.nonce !== 'string' || typeof parameters.salt !== 'string')
    return undefined;
  if (typeof parameters.cost !== 'number' || typeof parameters.keyLength !== 'number' || typeof parameters.keyPrefix !== 'string')
    return undefined;
  if (parameters.data !== undefined && !isObject(parameters.data)) return undefined;
  if (typeof solution.counter !== 'number' || typeof solution.derivedKey !== 'string') return undefined;
  return { challenge: challenge as unknown as Challenge, solution: { counter: solution.counter, derivedKey: solution.derivedKey } };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
