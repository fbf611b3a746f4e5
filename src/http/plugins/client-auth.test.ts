import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { DuplicateHeaderError, InvalidClientError, InvalidRequestError } from '../../core/errors.js';
import { clientCredentials } from './client-auth.js';

/** A request as Node hands it over: the header names and values in order, as sent. */
function request(...authorizations: string[]): FastifyRequest {
  return { raw: { rawHeaders: authorizations.flatMap((value) => ['Authorization', value]) } } as unknown as FastifyRequest;
}

function basic(id: string, secret: string): string {
  // RFC 6749 §2.3.1: each part form-urlencoded, then joined with ':' and base64-encoded.
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

describe('clientCredentials', () => {
  it('reads HTTP Basic, decoding the form-urlencoded parts', () => {
    assert.deepEqual(clientCredentials(request(basic('pc_id', 's3cr:et/+=')), {}), { clientId: 'pc_id', clientSecret: 's3cr:et/+=' });
  });

  it('reads client_id and client_secret from the body', () => {
    assert.deepEqual(clientCredentials(request(), { client_id: 'a', client_secret: 'b' }), { clientId: 'a', clientSecret: 'b' });
  });

  it('finds no credentials for a public client, even with a client_id', () => {
    assert.equal(clientCredentials(request(), {}), undefined);
    assert.equal(clientCredentials(request(), { client_id: 'public-app' }), undefined);
    assert.equal(clientCredentials(request('Bearer abc'), {}), undefined);
  });

  it('refuses two methods at once', () => {
    assert.throws(() => clientCredentials(request(basic('a', 'b')), { client_secret: 'c', client_id: 'a' }), InvalidRequestError);
  });

  it('refuses malformed Basic credentials and a secret without an id', () => {
    assert.throws(() => clientCredentials(request(`Basic ${Buffer.from('no-colon').toString('base64')}`), {}), InvalidClientError);
    assert.throws(() => clientCredentials(request(`Basic ${Buffer.from(':secret').toString('base64')}`), {}), InvalidClientError);
    assert.throws(() => clientCredentials(request(`Basic ${Buffer.from('%E0%A4%A:x').toString('base64')}`), {}), InvalidClientError);
    assert.throws(() => clientCredentials(request(), { client_secret: 'x' }), InvalidRequestError);
  });

  it('refuses two Authorization headers, whatever they hold (Node would keep the first)', () => {
    for (const pair of [
      [basic('a', 'b'), basic('c', 'd')],
      [basic('a', 'b'), 'Basic Og=='],
      ['Bearer abc', basic('a', 'b')],
    ]) {
      assert.throws(() => clientCredentials(request(...pair), {}), DuplicateHeaderError, pair.join(' / '));
    }
  });
});
