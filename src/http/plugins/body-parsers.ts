/**
 * Strict body parsers for the two media types Portcullis accepts. Bodies are
 * read as bytes and decoded as UTF-8 with `fatal: true`, so invalid UTF-8 is a
 * 400 instead of silently becoming U+FFFD; JSON goes through secure-json-parse
 * (no __proto__ / constructor pollution); forms refuse malformed
 * percent-encoding and repeated parameters (RFC 6749 §3.1). NUL characters
 * are refused anywhere. Every other media type is a 415.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import secureJson from 'secure-json-parse';
import { InvalidRequestError, UnsupportedMediaTypeError } from '../../core/errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function decodeUtf8(request: FastifyRequest, body: Buffer): string {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(request.headers['content-type'] ?? '')?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
    throw new UnsupportedMediaTypeError(`Unsupported charset ${JSON.stringify(charset)}; send UTF-8`);
  }
  try {
    return utf8.decode(body);
  } catch {
    throw new InvalidRequestError('Request body is not valid UTF-8');
  }
}

function assertNoNul(value: unknown, path: string): void {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) throw new InvalidRequestError(`${path || 'body'} must not contain NUL characters`);
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => assertNoNul(item, `${path}[${index}]`));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key.includes('\u0000')) throw new InvalidRequestError('field names must not contain NUL characters');
      assertNoNul(item, path ? `${path}.${key}` : key);
    }
  }
}

export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw new InvalidRequestError('Request body is empty; send a JSON object');
  let value: unknown;
  try {
    value = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch {
    throw new InvalidRequestError('Request body is not valid JSON');
  }
  assertNoNul(value, '');
  return value;
}

/** application/x-www-form-urlencoded, strictly: every name and value must percent-decode to valid UTF-8. */
export function parseFormBody(text: string): Record<string, string> {
  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  if (text === '') return fields;
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decodeFormComponent(eq === -1 ? pair : pair.slice(0, eq));
    const value = decodeFormComponent(eq === -1 ? '' : pair.slice(eq + 1));
    if (Object.prototype.hasOwnProperty.call(fields, name)) {
      throw new InvalidRequestError(`Parameter ${JSON.stringify(name.slice(0, 64))} is given more than once`);
    }
    fields[name] = value;
  }
  assertNoNul(fields, '');
  return fields;
}

function decodeFormComponent(component: string): string {
  try {
    return decodeURIComponent(component.replace(/\+/g, ' '));
  } catch {
    throw new InvalidRequestError('Form body has malformed percent-encoding or invalid UTF-8');
  }
}

export function registerBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    try {
      done(null, parseJsonBody(decodeUtf8(request, body as Buffer)));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (request, body, done) => {
    try {
      done(null, parseFormBody(decodeUtf8(request, body as Buffer)));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}
