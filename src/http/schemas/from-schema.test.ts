/**
 * FromSchema is checked by the compiler: each assertion below is a type that
 * only compiles when the derived type is exactly the one expected (the
 * hand-written interfaces the route schemas used to be paired with).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEventType } from '../../core/audit/audit-event.js';
import type { AuditQuery, CreateUserBody, ListUsersQuery, SessionParams, UpdateUserBody } from './admin-schemas.js';
import type { FromSchema } from './from-schema.js';
import type { RevocationBody, TokenBody } from './token-schemas.js';
import type { ChangePasswordBody, LogoutQuery, SessionIdParams, SignUpBody } from './user-schemas.js';
import type { publicUserSchema } from './user-schemas.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Expect<T extends true> = T;

export type Checks = [
  Expect<Equal<SignUpBody, { username: string; password: string; email?: string | null; full_name?: string | null }>>,
  Expect<Equal<ChangePasswordBody, { current_password: string; new_password: string; challenge_solution?: string }>>,
  Expect<Equal<SessionIdParams, { id: string }>>,
  Expect<Equal<LogoutQuery, { scope?: string }>>,
  Expect<
    Equal<
      TokenBody,
      {
        grant_type?: string;
        username?: string;
        password?: string;
        scope?: string;
        client_id?: string;
        client_secret?: string;
        refresh_token?: string;
        code?: string;
        redirect_uri?: string;
        code_verifier?: string;
        token?: string;
        mfa_token?: string;
        otp?: string;
        recovery_code?: string;
        webauthn_response?: string;
        challenge_solution?: string;
      }
    >
  >,
  Expect<Equal<RevocationBody, { token?: string; token_type_hint?: string; client_id?: string; client_secret?: string }>>,
  Expect<Equal<SessionParams, { username: string; id: string }>>,
  Expect<Equal<ListUsersQuery, { prefix?: string; disabled?: 'true' | 'false'; limit?: string; after?: string }>>,
  Expect<
    Equal<
      CreateUserBody,
      {
        username: string;
        password: string;
        email?: string | null;
        email_verified?: boolean;
        full_name?: string | null;
        scopes?: readonly string[];
        disabled?: boolean;
        mfa_required?: boolean;
      }
    >
  >,
  Expect<
    Equal<
      UpdateUserBody,
      {
        email?: string | null;
        email_verified?: boolean;
        full_name?: string | null;
        scopes?: readonly string[];
        disabled?: boolean;
        mfa_required?: boolean;
      }
    >
  >,
  Expect<Equal<AuditQuery['type'], AuditEventType | undefined>>,
  Expect<Equal<AuditQuery['outcome'], 'success' | 'failure' | undefined>>,
  Expect<
    Equal<
      FromSchema<typeof publicUserSchema>,
      {
        username: string;
        email: string | null;
        email_verified: boolean;
        full_name: string | null;
        disabled: boolean;
        scopes: readonly string[];
        created_at: string;
        mfa_required: boolean;
      }
    >
  >,
  Expect<Equal<FromSchema<{ type: 'integer' }>, number>>,
  Expect<Equal<FromSchema<{ type: 'object'; additionalProperties: { type: 'boolean' } }>, Record<string, boolean>>>,
  Expect<Equal<FromSchema<{ description: 'no type' }>, unknown>>,
];

describe('FromSchema', () => {
  it('derives the request types from the route schemas (checked when this file compiles)', () => {
    const body: SignUpBody = { username: 'alice', password: 'a passphrase' };
    assert.equal(body.username, 'alice');
  });
});
