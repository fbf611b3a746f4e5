/**
 * The device cookie: what core calls a device token, kept by browsers and
 * sent back only to /token. HttpOnly (no script reads it), SameSite=Strict
 * (no cross-site request carries it), Secure with SECURE_COOKIES=on.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DEVICE_TOKEN_TTL_SECONDS } from '../../core/login/device-token.js';

export const DEVICE_COOKIE = 'portcullis_device';
/** A device token is about 80 characters; anything much longer is not one. */
const MAX_VALUE_LENGTH = 256;

/** The value of one named cookie in the Cookie header; undefined when absent or malformed. */
export function readCookie(header: string | undefined, name: string, maxValueLength = MAX_VALUE_LENGTH): string | undefined {
  if (header === undefined || header.length > 16_384) return undefined;
  for (const pair of header.split(';')) {
    const at = pair.indexOf('=');
    if (at < 0 || pair.slice(0, at).trim() !== name) continue;
    const value = pair.slice(at + 1).trim();
    return value !== '' && value.length <= maxValueLength && /^[A-Za-z0-9._-]+$/.test(value) ? value : undefined;
  }
  return undefined;
}

export function deviceTokenOf(request: FastifyRequest): string | undefined {
  return readCookie(request.headers.cookie, DEVICE_COOKIE);
}

export function setDeviceCookie(reply: FastifyReply, value: string, secure: boolean): void {
  const attributes = [`Max-Age=${DEVICE_TOKEN_TTL_SECONDS}`, 'Path=/token', 'HttpOnly', 'SameSite=Strict', ...(secure ? ['Secure'] : [])];
  reply.header('set-cookie', `${DEVICE_COOKIE}=${value}; ${attributes.join('; ')}`);
}
