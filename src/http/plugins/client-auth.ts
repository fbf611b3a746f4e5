/**
 * Client authentication at /token, /revoke and /introspect (RFC 6749
 * §2.3.1): HTTP Basic with the form-urlencoded id and secret, or the
 * `client_id` and `client_secret` body fields; never both (§2.3), and never
 * two Authorization headers (authorization-header.ts).
 */
import type { FastifyRequest } from 'fastify';
import type { ClientCredentials } from '../../core/clients/client.js';
import { InvalidClientError, InvalidRequestError } from '../../core/errors.js';
import { authorizationHeader } from './authorization-header.js';

interface ClientFields {
  readonly client_id?: string;
  readonly client_secret?: string;
}

function decodeBasicPart(part: string): string {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    throw new InvalidClientError('Malformed HTTP Basic credentials');
  }
}

/** The credentials presented, or undefined when the request presents none (a public client). */
export function clientCredentials(request: FastifyRequest, body: ClientFields | undefined): ClientCredentials | undefined {
  const header = authorizationHeader(request.raw.rawHeaders);
  const basic = header !== undefined && /^basic /i.test(header) ? header.slice(6).trim() : undefined;
  const decoded = basic === undefined ? undefined : Buffer.from(basic, 'base64').toString('utf8');
  const secretInBody = body?.client_secret !== undefined && body.client_secret !== '';
  // An empty id and an empty secret (`Basic Og==`) is what generic OAuth tools, Swagger UI's
  // password flow among them, send when their client fields are left empty: no client, not a failed one.
  if (decoded !== undefined && decoded !== ':') {
    if (secretInBody) throw new InvalidRequestError('Use one client authentication method: HTTP Basic or client_secret, not both');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new InvalidClientError('Malformed HTTP Basic credentials');
    return { clientId: decodeBasicPart(decoded.slice(0, colon)), clientSecret: decodeBasicPart(decoded.slice(colon + 1)) };
  }
  if (secretInBody) {
    if (body?.client_id === undefined || body.client_id === '') throw new InvalidRequestError('client_secret needs client_id');
    return { clientId: body.client_id, clientSecret: body.client_secret! };
  }
  return undefined;
}
