/**
 * The SQL FactorStore on every test database: of concurrent uses of one TOTP step, one recovery
 * code or one mfa_token, exactly one wins (the UPDATE's WHERE decides, across connections); an
 * mfa_token's attempts are counted and bounded; removing the last confirmed factor takes the
 * recovery codes with it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Factor } from '../../core/factors/factor.js';
import { testDialects } from '../../../test/helpers/sql-dialects.js';
import { SqlFactorStore } from './factor-store.js';
import { SqlUserStore } from './user-store.js';

const T0 = Date.parse('2026-12-01T09:00:00Z');

for (const { name, skip, open } of await testDialects()) {
  describe(`SqlFactorStore on ${name}`, { skip: skip ?? false }, () => {
    it('one winner per step, code and mfa_token; attempts bounded; the last factor takes the codes', async () => {
      const database = await open();
      try {
        const users = new SqlUserStore(database.dialect);
        const store = new SqlFactorStore(database.dialect);
        const user = await users.create(
          { username: 'u', usernameKey: 'u', email: null, fullName: null, passwordHash: 'h', disabled: false, scopes: [] },
          T0,
        );
        const factor: Factor = {
          id: 'f1',
          userId: user.id,
          kind: 'totp',
          name: 'Phone',
          secretSealed: 'sealed',
          createdAt: T0,
          confirmedAt: null,
          lastUsedAt: null,
          lastStep: null,
        };
        await store.create(factor);
        assert.equal(await store.hasConfirmed(user.id), false, 'pending does not count');
        assert.equal(await store.useStep('f1', 100, T0), false, 'a pending factor takes no code');
        assert.equal(await store.confirm('f1', 100, T0), true);
        assert.equal(await store.confirm('f1', 100, T0), false, 'confirmed once');
        assert.equal(await store.hasConfirmed(user.id), true);

        const steps = await Promise.all([101, 101, 101, 101].map((step) => store.useStep('f1', step, T0 + 1)));
        assert.equal(steps.filter(Boolean).length, 1, 'one use of step 101');
        assert.equal(await store.useStep('f1', 100, T0 + 2), false, 'an earlier step is refused');
        assert.equal((await store.listByUser(user.id))[0]?.lastStep, 101);

        await store.replaceRecoveryCodes(user.id, ['h1', 'h2'], T0);
        const codes = await Promise.all([1, 2, 3].map(() => store.useRecoveryCode(user.id, 'h1', T0)));
        assert.equal(codes.filter(Boolean).length, 1, 'one use of a recovery code');
        assert.equal(await store.countRecoveryCodes(user.id), 1);

        await store.createChallenge({
          tokenHash: 't1',
          userId: user.id,
          tokenVersion: 0,
          firstFactor: 'pwd',
          scopes: ['me'],
          clientId: null,
          guardTicket: null,
          attempts: 0,
          createdAt: T0,
          expiresAt: T0 + 300_000,
          usedAt: null,
          enrolmentFactorId: null,
        });
        const spent = await Promise.all([1, 2, 3, 4, 5, 6, 7].map(() => store.spendAttempt('t1', T0 + 1, 5)));
        assert.equal(spent.filter((c) => c !== undefined).length, 5, 'five attempts, however concurrent');
        assert.deepEqual(spent.find((c) => c !== undefined)?.scopes, ['me']);
        const used = await Promise.all([1, 2, 3].map(() => store.useChallenge('t1', T0 + 2)));
        assert.equal(used.filter(Boolean).length, 1, 'one use of an mfa_token');
        await store.createChallenge({
          tokenHash: 't2',
          userId: user.id,
          tokenVersion: 0,
          firstFactor: 'link',
          scopes: [],
          clientId: 'c',
          guardTicket: '{"accountKey":"k"}',
          attempts: 0,
          createdAt: T0,
          expiresAt: T0 + 300_000,
          usedAt: null,
          enrolmentFactorId: null,
        });
        assert.equal(await store.setEnrolment('t2', 'f9', T0 + 1), true, 'an enrolment bound to a live challenge');
        assert.equal((await store.spendAttempt('t2', T0 + 2, 5))?.enrolmentFactorId, 'f9');
        assert.equal(await store.setEnrolment('t1', 'f9', T0 + 3), false, 'not to a used one');
        assert.equal(await store.setEnrolment('t2', 'f9', T0 + 300_000), false, 'nor to an expired one');
        assert.equal(await store.spendAttempt('t2', T0 + 300_000, 5), undefined, 'expired at its expiry');

        assert.equal(await store.remove(user.id, 'nope'), false);
        assert.equal(await store.remove(user.id, 'f1'), true);
        assert.equal(await store.countRecoveryCodes(user.id), 0, 'the last factor took the codes');
        assert.equal(await store.removeAll(user.id), 0);
      } finally {
        await database.close();
      }
    });
  });
}
