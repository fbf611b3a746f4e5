import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyPostgresError } from './postgres.js';

function pgError(code: string | undefined, message = 'x'): Error {
  return Object.assign(new Error(message), code === undefined ? {} : { code });
}

describe('classifyPostgresError', () => {
  it('reads a unique violation as such', () => {
    assert.equal(classifyPostgresError(pgError('23505', 'duplicate key value violates unique constraint')), 'unique_violation');
  });

  it('reads a server that is away, restarting or overloaded as unavailable', () => {
    for (const code of ['57P01', '57P03', '53300', '57014', '08006', '08001', 'ECONNREFUSED', 'ECONNRESET']) {
      assert.equal(classifyPostgresError(pgError(code)), 'unavailable', code);
    }
    for (const message of ['Connection terminated unexpectedly', 'timeout exceeded when trying to connect', 'Query read timeout']) {
      assert.equal(classifyPostgresError(pgError(undefined, message)), 'unavailable', message);
    }
  });

  it('leaves everything else to surface (a bug is not an outage)', () => {
    for (const error of [pgError('42P01', 'relation does not exist'), pgError('22P02'), pgError(undefined, 'boom'), 'text', null]) {
      assert.equal(classifyPostgresError(error), undefined);
    }
  });
});
