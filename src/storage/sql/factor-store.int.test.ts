/**
 * The SQL FactorStore on every test database: of concurrent uses of one TOTP step, one recovery
 * code or one mfa_token, exactly one wins (the UPDATE's WHERE decides, across connections); an
 * mfa_token's attempts are counted and bounded; removing the last confirmed factor takes the
 * recovery codes with it. A WebAuthn factor keeps its registration challenge while pending, then
 * its credential; of concurrent ceremonies that read one counter, one records; a passkey-login
 * challenge is used once, and not after it expired.
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
        const [stored] = await store.listByUser(user.id);
        assert.equal(stored?.kind === 'totp' ? stored.lastStep : undefined, 101);

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
          webauthnChallenge: null,
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
          webauthnChallenge: 'challenge-2',
          attempts: 0,
          createdAt: T0,
          expiresAt: T0 + 300_000,
          usedAt: null,
          enrolmentFactorId: null,
        });
        assert.equal((await store.spendAttempt('t2', T0 + 1, 5))?.webauthnChallenge, 'challenge-2');
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

    it('a WebAuthn factor: pending with its challenge, confirmed with its credential; one counter update wins; login challenges once', async () => {
      const database = await open();
      try {
        const users = new SqlUserStore(database.dialect);
        const store = new SqlFactorStore(database.dialect);
        const user = await users.create(
          { username: 'w', usernameKey: 'w', email: null, fullName: null, passwordHash: 'h', disabled: false, scopes: [] },
          T0,
        );
        await store.create({
          id: 'k1',
          userId: user.id,
          kind: 'webauthn',
          name: 'Key',
          createdAt: T0,
          confirmedAt: null,
          lastUsedAt: null,
          registrationChallenge: 'reg-challenge',
          credential: null,
        });
        const [pending] = await store.listByUser(user.id);
        assert.equal(pending?.kind === 'webauthn' ? pending.registrationChallenge : undefined, 'reg-challenge');
        assert.equal(await store.findByCredentialId('cred-1'), undefined, 'pending: not found by credential');
        const credential = {
          credentialId: 'cred-1',
          publicKey: 'pk',
          signCount: 2 ** 32 - 1,
          transports: ['usb', 'nfc'],
          deviceType: 'singleDevice' as const,
          backedUp: false,
        };
        assert.equal(await store.confirmWebAuthn('k1', credential, T0 + 1), true);
        assert.equal(await store.confirmWebAuthn('k1', credential, T0 + 1), false, 'confirmed once');
        assert.equal(await store.hasConfirmed(user.id), true);
        const found = await store.findByCredentialId('cred-1');
        assert.deepEqual(found?.credential, credential, 'a 32-bit counter round-trips');
        assert.equal(found?.registrationChallenge, null);

        const updates = await Promise.all([1, 2, 3].map(() => store.useCredential('k1', 2 ** 32 - 1, 5, true, T0 + 2)));
        assert.equal(updates.filter(Boolean).length, 1, 'one ceremony records per counter read');
        const after = await store.findByCredentialId('cred-1');
        assert.equal(after?.credential.signCount, 5);
        assert.equal(after?.credential.backedUp, true);

        await store.createLoginChallenge('c1', T0, T0 + 60_000);
        await store.createLoginChallenge('c2', T0, T0 + 60_000);
        const uses = await Promise.all([1, 2, 3].map(() => store.useLoginChallenge('c1', T0 + 1)));
        assert.equal(uses.filter(Boolean).length, 1, 'a login challenge is used once');
        assert.equal(await store.useLoginChallenge('c2', T0 + 60_000), false, 'not at its expiry');
        assert.equal(await store.useLoginChallenge('unknown', T0 + 1), false);
        await store.createLoginChallenge('c3', T0 + 120_000, T0 + 180_000);
        assert.equal(await store.useLoginChallenge('c2', T0 + 1), false, 'expired challenges are deleted as new ones come');
      } finally {
        await database.close();
      }
    });
  });
}
