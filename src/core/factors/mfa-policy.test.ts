import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MFA_POLICIES, mfaRequiredFor } from './mfa-policy.js';

const plain = { mfaRequired: false, scopes: ['me'] };
const admin = { mfaRequired: false, scopes: ['me', 'admin'] };
const flagged = { mfaRequired: true, scopes: [] };

describe('mfaRequiredFor', () => {
  it('optional: only the users an administrator flagged', () => {
    assert.equal(mfaRequiredFor('optional', plain), false);
    assert.equal(mfaRequiredFor('optional', admin), false);
    assert.equal(mfaRequiredFor('optional', flagged), true);
  });

  it('admins: the holders of the admin scope, and the flagged users', () => {
    assert.equal(mfaRequiredFor('admins', plain), false);
    assert.equal(mfaRequiredFor('admins', admin), true);
    assert.equal(mfaRequiredFor('admins', flagged), true);
    assert.equal(mfaRequiredFor('admins', { mfaRequired: false, scopes: ['administrator', 'admin:read'] }), false, 'the exact scope only');
  });

  it('all: everyone', () => {
    for (const user of [plain, admin, flagged]) assert.equal(mfaRequiredFor('all', user), true);
  });

  it('the per-user flag only tightens: every policy requires a flagged user', () => {
    for (const policy of MFA_POLICIES) assert.equal(mfaRequiredFor(policy, flagged), true);
  });
});
