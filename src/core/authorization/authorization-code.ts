/**
 * The authorization code of RFC 6749 §4.1 as we keep it: the SHA-256 of 256 random bits (the code
 * itself is never stored), single use, 60 seconds, bound to the client, the redirect URI, the PKCE
 * challenge, the scopes and the nonce, and to the browser session's user and how it signed in
 * (amr/acr/auth_time, copied to the session the exchange opens). PKCE is S256 only (RFC 7636 §4.6),
 * checked with node:crypto's SHA-256 and a constant-time comparison.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { SessionAuthentication } from '../factors/factor.js';

export const AUTHORIZATION_CODE_TTL_MS = 60_000;

/**
 * How long a code's row outlives its expiry: a code that comes back within it still revokes the
 * session its exchange opened; then the row is pruned (at the next code's issue).
 */
export const AUTHORIZATION_CODE_RETENTION_MS = 24 * 3600_000;

/** RFC 7636 §4.1: 43 to 128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;
/** An S256 challenge: base64url (no padding) of a SHA-256, 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

export interface AuthorizationCodeRecord {
  readonly codeHash: string;
  readonly clientId: string;
  readonly userId: string;
  readonly redirectUri: string;
  /** The request named redirect_uri: the exchange must send the same (RFC 6749 §4.1.3); else it may leave it out. */
  readonly redirectUriGiven: boolean;
  readonly codeChallenge: string;
  readonly scopes: readonly string[];
  /** OpenID Connect's nonce, kept for the ID token of the next slice. */
  readonly nonce: string | null;
  readonly browserSessionId: string;
  readonly authentication: SessionAuthentication;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly usedAt: number | null;
  /** The session the exchange opened. */
  readonly sessionId: string | null;
}

/** A code's use: the record as it was, and whether this was its first use. */
export interface CodeUse {
  readonly record: AuthorizationCodeRecord;
  readonly firstUse: boolean;
}

/** Codes and consents (SQL: authorization_codes, client_consents; migration 0011). */
export interface AuthorizationStore {
  /** Stores the code, and deletes the codes that expired before `pruneBeforeMs`. */
  saveCode(record: AuthorizationCodeRecord, pruneBeforeMs: number): Promise<void>;
  /** Marks the code used, atomically, if it was not; undefined for an unknown code. */
  useCode(codeHash: string, nowMs: number): Promise<CodeUse | undefined>;
  /** Records the session a code's exchange opened. */
  setCodeSession(codeHash: string, sessionId: string): Promise<void>;
  /** The scopes the user allowed the client so far; undefined: never asked. */
  consentedScopes(userId: string, clientId: string): Promise<readonly string[] | undefined>;
  /** Adds scopes to what the user allowed the client. */
  saveConsent(userId: string, clientId: string, scopes: readonly string[], nowMs: number): Promise<void>;
}

export function isS256Challenge(value: string): boolean {
  return S256_CHALLENGE.test(value);
}

/** Whether the verifier is well-formed and its SHA-256 is the challenge (RFC 7636 §4.6). */
export function verifierMatches(verifier: string, challenge: string): boolean {
  if (!CODE_VERIFIER.test(verifier) || !isS256Challenge(challenge)) return false;
  const actual = createHash('sha256').update(verifier, 'ascii').digest();
  const expected = Buffer.from(challenge, 'base64url');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
