/**
 * TOTP (RFC 6238) through `otpauth`: the secret, the otpauth:// URI an authenticator app reads,
 * and the check of a code against an injected time. Six digits, 30-second steps, SHA-1: what every
 * authenticator app supports. A code is accepted within ±1 step (clock drift between phone and
 * server); which step matched is returned so the caller can refuse its replay.
 */
import { Secret, TOTP } from 'otpauth';

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Steps accepted either side of the current one. */
export const TOTP_WINDOW = 1;
const SECRET_BYTES = 20;

/** A new random secret, base32 (what the URI and the sealed column hold). */
export function newTotpSecret(): string {
  return new Secret({ size: SECRET_BYTES }).base32;
}

function totpOf(secretBase32: string, issuer = '', label = ''): TOTP {
  return new TOTP({
    issuer,
    label,
    secret: Secret.fromBase32(secretBase32),
    algorithm: 'SHA1',
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
  });
}

/** The otpauth:// URI (Key URI Format) for an authenticator app: it contains the secret. */
export function totpUri(secretBase32: string, issuer: string, label: string): string {
  return totpOf(secretBase32, issuer, label).toString();
}

/** The time step a valid code belongs to (within ±TOTP_WINDOW of `nowMs`), or undefined. */
export function matchTotp(secretBase32: string, code: string, nowMs: number): number | undefined {
  const token = code.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(token)) return undefined;
  const delta = totpOf(secretBase32).validate({ token, timestamp: nowMs, window: TOTP_WINDOW });
  if (delta === null) return undefined;
  return Math.floor(nowMs / 1000 / TOTP_PERIOD_SECONDS) + delta;
}
