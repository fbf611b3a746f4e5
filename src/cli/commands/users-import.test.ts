import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeReadError } from './users-import.js';

/** An error as node:fs makes them. */
function fsError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

describe('users import: a file it cannot read', () => {
  it('names the file and the reason, with the code', () => {
    assert.equal(
      describeReadError('users.json', fsError('ENOENT', "ENOENT: no such file or directory, open 'users.json'")),
      'cannot read users.json: no such file (ENOENT)',
    );
    assert.equal(
      describeReadError('users', fsError('EISDIR', 'EISDIR: illegal operation on a directory, read')),
      'cannot read users: it is a directory, not a file (EISDIR)',
    );
    assert.equal(
      describeReadError('locked.json', fsError('EACCES', "EACCES: permission denied, open 'locked.json'")),
      'cannot read locked.json: permission denied (EACCES)',
    );
    assert.equal(
      describeReadError('locked.json', fsError('EPERM', "EPERM: operation not permitted, open 'locked.json'")),
      'cannot read locked.json: permission denied (EPERM)',
    );
    assert.equal(
      describeReadError('file.json/x', fsError('ENOTDIR', 'ENOTDIR: not a directory')),
      'cannot read file.json/x: a part of its path is not a directory (ENOTDIR)',
    );
  });

  it('gives the system message for anything else', () => {
    assert.equal(describeReadError('big.json', fsError('EIO', 'EIO: i/o error, read')), 'cannot read big.json: EIO: i/o error, read');
  });
});
