import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDatabaseUrl, type DatabaseLocation } from '../storage/settings.js';
import { describeStartupFailure } from './startup-error.js';

const SQLITE: DatabaseLocation = { kind: 'sqlite', path: './data/portcullis.db' };
const POOL = { max: 1, connectTimeoutMs: 2000, statementTimeoutMs: 5000, idleTimeoutMs: 30_000 };
const POSTGRES = parseDatabaseUrl('postgres://portcullis:hunter2-secret@db.internal:5433/auth', POOL, []);

/** An error as Node's net module makes them: a message, and code, syscall, address, port. */
function systemError(message: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(message), fields);
}

describe('describeStartupFailure', () => {
  it('says which address could not be listened on, and why, with the code', () => {
    const listen = systemError('listen EADDRINUSE: address already in use 127.0.0.1:8000', {
      code: 'EADDRINUSE',
      syscall: 'listen',
      address: '127.0.0.1',
      port: 8000,
    });
    assert.equal(describeStartupFailure(listen, SQLITE), 'cannot listen on 127.0.0.1:8000: address already in use (EADDRINUSE)');
    // A cluster worker's error: the primary binds for it.
    const bind = systemError('bind EADDRINUSE 0.0.0.0:8000', { code: 'EADDRINUSE', syscall: 'bind', address: '0.0.0.0', port: 8000 });
    assert.equal(describeStartupFailure(bind, SQLITE), 'cannot listen on 0.0.0.0:8000: address already in use (EADDRINUSE)');
    const ipv6 = systemError('listen EACCES: permission denied ::1:80', { code: 'EACCES', syscall: 'listen', address: '::1', port: 80 });
    assert.equal(describeStartupFailure(ipv6, SQLITE), 'cannot listen on [::1]:80: permission denied (EACCES)');
    const other = systemError('listen EINVAL: invalid argument 127.0.0.1:8000', {
      code: 'EINVAL',
      syscall: 'listen',
      address: '127.0.0.1',
      port: 8000,
    });
    assert.equal(describeStartupFailure(other, SQLITE), 'cannot listen on 127.0.0.1:8000: listen EINVAL: invalid argument 127.0.0.1:8000');
  });

  it('says which database could not be reached, never with its user or password', () => {
    const refused = systemError('connect ECONNREFUSED 10.0.0.5:5433', {
      code: 'ECONNREFUSED',
      syscall: 'connect',
      address: '10.0.0.5',
      port: 5433,
    });
    assert.equal(
      describeStartupFailure(refused, POSTGRES),
      'cannot reach the database (postgres db.internal:5433/auth): connection refused (ECONNREFUSED)',
    );
    // Node's connection attempts to every address of a name: an AggregateError with an empty message.
    const aggregate = Object.assign(new AggregateError([refused], ''), { code: 'ECONNREFUSED' });
    assert.equal(
      describeStartupFailure(aggregate, POSTGRES),
      'cannot reach the database (postgres db.internal:5433/auth): connection refused (ECONNREFUSED)',
    );
    const timeout = new Error('timeout exceeded when trying to connect');
    assert.equal(
      describeStartupFailure(timeout, POSTGRES),
      'cannot reach the database (postgres db.internal:5433/auth): timeout exceeded when trying to connect',
    );
    const cannotOpen = systemError('unable to open database file', { code: 'SQLITE_CANTOPEN' });
    assert.equal(
      describeStartupFailure(cannotOpen, SQLITE),
      'cannot open the database (sqlite ./data/portcullis.db): unable to open database file (SQLITE_CANTOPEN)',
    );
    for (const error of [refused, aggregate, timeout]) assert.doesNotMatch(describeStartupFailure(error, POSTGRES), /hunter2|portcullis:/);
  });

  it('gives any other error as "could not start" and its message', () => {
    const auth = systemError('password authentication failed for user "portcullis"', { code: '28P01' });
    assert.equal(describeStartupFailure(auth, POSTGRES), 'could not start: password authentication failed for user "portcullis"');
    assert.equal(describeStartupFailure(new TypeError('the folder is missing'), SQLITE), 'could not start: the folder is missing');
    assert.equal(describeStartupFailure('a string', SQLITE), 'could not start: a string');
  });
});
