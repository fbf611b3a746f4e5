import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DuplicateHeaderError } from '../../core/errors.js';
import { authorizationHeader } from './authorization-header.js';

describe('authorizationHeader', () => {
  it('finds the one Authorization header, in any case, among the others', () => {
    assert.equal(authorizationHeader(['Host', 'h', 'authorization', 'Bearer a', 'Accept', '*/*']), 'Bearer a');
    assert.equal(authorizationHeader(['AUTHORIZATION', '']), '');
    assert.equal(authorizationHeader(['Host', 'h', 'Proxy-Authorization', 'Basic x']), undefined);
  });

  it('refuses two, even when they are the same', () => {
    for (const raw of [
      ['Authorization', 'Bearer a', 'Authorization', 'Bearer b'],
      ['authorization', 'Bearer a', 'Host', 'h', 'AuThOrIzAtIoN', 'Bearer a'],
      ['Authorization', 'Bearer a', 'Authorization', ''],
    ]) {
      assert.throws(
        () => authorizationHeader(raw),
        (error: unknown) => error instanceof DuplicateHeaderError && error.message === 'Duplicate Authorization header',
      );
    }
  });
});
