/**
 * The error table is complete by construction: each assertion below is checked by the compiler
 * (`npm run typecheck`), and the runtime test walks the table.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PortcullisError, type PortcullisErrorCode } from '../core/errors.js';
import { ERROR_TABLE, resolveError, type HttpErrorCode } from './error-handler.js';

export class UnlistedCodeError extends PortcullisError {
  // @ts-expect-error: a code outside PortcullisErrorCode does not compile (and so cannot lack a row in the table).
  readonly code = 'ERR_NOT_IN_THE_UNION';
}

// @ts-expect-error: a table without a row for every code does not compile.
export const incomplete: Readonly<Record<HttpErrorCode, unknown>> = { ERR_INVALID_REQUEST: { status: 400 } };

describe('ERROR_TABLE', () => {
  it('maps every code to an HTTP error status, and resolves an error by its code', () => {
    for (const [code, mapping] of Object.entries(ERROR_TABLE)) {
      assert.ok(mapping.status >= 400 && mapping.status < 600, code);
    }
    class Sample extends PortcullisError {
      readonly code: PortcullisErrorCode = 'ERR_USERNAME_TAKEN';
    }
    assert.equal(resolveError(new Sample('taken')).mapping.status, 409);
    assert.equal(resolveError(new Error('anything else')).mapping.status, 500);
  });
});
