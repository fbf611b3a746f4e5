/**
 * The device token, the "known good client" signal: after a successful password login, an HMAC (under a key
 * derived from SECRET_KEY) over the account's key, a random device id, the time of issue and the account's
 * token version, so that a password change retires it. Presented again for that account, it keys the login's
 * backoff by the device instead of the address (ADR 0008).
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock.js';

export const DEVICE_TOKEN_TTL_SECONDS = 90 * 86_400;
/** Clocks of instances may differ a little: a token issued slightly "in the future" still counts. */
const FUTURE_SKEW_SECONDS = 300;
const DEVICE_ID_BYTES = 16;
const TOKEN_PATTERN = /^([A-Za-z0-9_-]{22})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

export class DeviceTokens {
  private readonly key: Buffer;

  constructor(
    secretKey: string,
    private readonly clock: Clock,
  ) {
    this.key = Buffer.from(hkdfSync('sha256', Buffer.from(secretKey, 'utf8'), 'portcullis', 'device-token/v1', 32));
  }

  /** `deviceId.issuedAtSeconds.mac`; keeps `deviceId` when given (a device that logs in again). */
  issue(usernameKey: string, tokenVersion: number, deviceId: string = randomBytes(DEVICE_ID_BYTES).toString('base64url')): string {
    const issuedAt = Math.floor(this.clock.now() / 1000);
    return `${deviceId}.${issuedAt}.${this.mac(usernameKey, tokenVersion, deviceId, issuedAt).toString('base64url')}`;
  }

  /** The device id when `token` is a current token of this account at this token version; undefined otherwise. */
  verify(token: string | undefined, usernameKey: string | undefined, tokenVersion: number | undefined): string | undefined {
    if (token === undefined || usernameKey === undefined || tokenVersion === undefined) return undefined;
    const match = TOKEN_PATTERN.exec(token);
    if (!match) return undefined;
    const [, deviceId, issued, mac] = match as unknown as [string, string, string, string];
    const issuedAt = Number(issued);
    const now = this.clock.now() / 1000;
    if (issuedAt > now + FUTURE_SKEW_SECONDS || now - issuedAt > DEVICE_TOKEN_TTL_SECONDS) return undefined;
    const given = Buffer.from(mac, 'base64url');
    const expected = this.mac(usernameKey, tokenVersion, deviceId, issuedAt);
    return given.length === expected.length && timingSafeEqual(given, expected) ? deviceId : undefined;
  }

  private mac(usernameKey: string, tokenVersion: number, deviceId: string, issuedAt: number): Buffer {
    // JSON keeps the fields apart whatever characters a username holds.
    return createHmac('sha256', this.key)
      .update(JSON.stringify(['device/v2', usernameKey, tokenVersion, deviceId, issuedAt]))
      .digest();
  }
}
