import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import {
  DuplicateHeaderError,
  InsufficientScopeError,
  InvalidCredentialsError,
  InvalidTokenError,
  LoginThrottledError,
  NotAuthenticatedError,
  OverloadedError,
  RateLimitedError,
  StorageUnavailableError,
  UsernameTakenError,
  WrongPrincipalError,
} from '../core/errors.js';
import { registerErrorHandling } from '../http/error-handler.js';
import { errorResponse } from './error-response.js';

const ERRORS: ReadonlyArray<[string, Error]> = [
  ['no token', new NotAuthenticatedError()],
  ['a bad token', new InvalidTokenError()],
  ['two Authorization headers', new DuplicateHeaderError('Authorization')],
  ['a missing scope', new InsufficientScopeError(['items', 'admin'])],
  ["a service client's token", new WrongPrincipalError()],
  ['a wrong password', new InvalidCredentialsError()],
  ['a taken name', new UsernameTakenError()],
  ['a throttled login', new LoginThrottledError(17)],
  ['an overloaded hashing pool', new OverloadedError(2)],
  ['a database away', new StorageUnavailableError()],
  [
    'a rate limit',
    new RateLimitedError({
      bucket: 'ip',
      settings: { perMinute: 60, burst: 30 },
      decision: { allowed: false, limit: 30, remaining: 0, resetSeconds: 9, retryAfterSeconds: 9 },
    }),
  ],
  ['a bug', new Error('secret internals')],
];

describe('errorResponse', () => {
  for (const oauth of [false, true]) {
    it(`answers ${oauth ? 'an OAuth route' : 'a route'} exactly as the server's error handler does`, async () => {
      const app = Fastify();
      registerErrorHandling(app);
      app.get('/:index', { config: { oauth } }, async (request) => {
        throw ERRORS[Number((request.params as { index: string }).index)]![1];
      });
      for (const [index, [what, error]] of ERRORS.entries()) {
        const served = await app.inject({ url: `/${index}` });
        const answer = errorResponse(error, { oauth });
        assert.equal(answer.status, served.statusCode, what);
        assert.deepEqual(answer.body, served.json(), what);
        for (const [name, value] of Object.entries(answer.headers)) assert.equal(served.headers[name], value, `${what}: ${name}`);
        for (const name of ['www-authenticate', 'retry-after', 'ratelimit-limit', 'ratelimit-policy']) {
          assert.equal(answer.headers[name], served.headers[name], `${what}: ${name}`);
        }
      }
      await app.close();
    });
  }

  it('never passes on the message of an unexpected error', () => {
    const answer = errorResponse(new Error('password=hunter2'));
    assert.equal(answer.status, 500);
    assert.deepEqual(answer.body, { detail: 'Internal Server Error' });
  });
});
